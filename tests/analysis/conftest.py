"""A small, fictitious evidence base for testing selection rules (not clinical data)."""

from __future__ import annotations

import pytest

from plateau.evidence import EvidenceBase, Trial

SRC = {
    "id": "s1",
    "kind": "primary",
    "first_author": "Doe J",
    "year": 2020,
    "journal": "Test J",
    "url": "https://example.org/fictitious",
    "location": "abstract",
}
SEC = {
    "id": "s2",
    "kind": "secondary",
    "first_author": "Roe R",
    "year": 2021,
    "journal": "Review",
    "url": "https://example.org/review",
    "location": "Table 1",
}


def _trial(
    trial_id,
    *,
    setting="post_asct",
    age="younger",
    point="at_maintenance",
    agent="lenalidomide",
    kind="maintenance_vs_control",
    control_type="observation",
    estimates=(),
    aes=(),
    arms=None,
    comparisons=None,
    sources=(SRC, SEC),
):
    arms = arms or [
        {
            "id": "exp",
            "label": "maintenance",
            "regimen": agent,
            "treatment": agent,
            "agents": [agent],
            "n_randomised": 100,
        },
        {
            "id": "ctl",
            "label": "control",
            "regimen": "observation",
            "treatment": "observation",
            "agents": [],
            "n_randomised": 100,
        },
    ]
    comparisons = comparisons or [
        {
            "id": "main",
            "experimental_arm": "exp",
            "control_arm": "ctl",
            "kind": kind,
            "control_type": control_type,
        }
    ]
    return Trial.model_validate(
        {
            "id": trial_id,
            "name": f"Fictitious {trial_id}",
            "setting": setting,
            "age_group": age,
            "randomisation_point": point,
            "arms": arms,
            "comparisons": comparisons,
            "estimates": list(estimates),
            "adverse_events": list(aes),
            "sources": list(sources),
        }
    )


def est(outcome="PFS", *, status="latest", source="s1", comparison="main", **values):
    return {
        "comparison": comparison,
        "outcome": outcome,
        "source": source,
        "report": "report",
        "status": status,
        **values,
    }


@pytest.fixture()
def make_trial():
    return _trial


@pytest.fixture()
def base():
    trials = [
        _trial(
            "LEN-A",
            estimates=[
                est(hr=0.5, ci_low=0.4, ci_high=0.625),
                est("OS", hr=0.8, ci_low=0.64, ci_high=1.0),
            ],
        ),
        _trial(
            "LEN-B",
            estimates=[est(hr=0.6, ci_low=0.45, ci_high=0.8)],
            aes=[
                {
                    "comparison": "main",
                    "term": "neutropenia",
                    "grade": "3-4",
                    "events_experimental": 40,
                    "n_experimental": 100,
                    "events_control": 10,
                    "n_control": 100,
                    "source": "s1",
                }
            ],
        ),
        _trial("LEN-EFS", estimates=[est("EFS", hr=0.7, ci_low=0.5, ci_high=0.98)]),
        _trial(
            "LEN-OLD",
            setting="non_transplant",
            age="older",
            estimates=[est(hr=0.75, ci_low=0.6, ci_high=0.94)],
        ),
        _trial(
            "LEN-PKG",
            kind="induction_maintenance_package",
            point="at_diagnosis",
            estimates=[est(hr=0.9, ci_low=0.7, ci_high=1.16)],
        ),
        _trial("LEN-SEC", estimates=[est(hr=0.55, ci_low=0.4, ci_high=0.76, source="s2")]),
        _trial(
            "LEN-MED",
            estimates=[
                est(
                    median_experimental=40,
                    median_control=20,
                    events_experimental=60,
                    events_control=90,
                    p_value="<0.001",
                )
            ],
        ),
        _trial("LEN-NOCI", estimates=[est(hr=0.6, p_value="<0.001")]),
        _trial(
            "LEN-UPD",
            estimates=[
                est(hr=0.5, ci_low=0.35, ci_high=0.71, status="superseded"),
                est(median_experimental=50, median_control=25, p_value="<0.001"),
            ],
        ),
        _trial("THAL-A", agent="thalidomide", estimates=[est(hr=0.7, ci_low=0.55, ci_high=0.89)]),
    ]
    return EvidenceBase(trials)
