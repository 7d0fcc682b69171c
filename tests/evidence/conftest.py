from __future__ import annotations

import copy

import pytest
import yaml

GOOD_TRIAL = {
    "id": "DEMO-1",
    "name": "Demo maintenance trial",
    "setting": "post_asct",
    "age_group": "younger",
    "randomisation_point": "at_maintenance",
    "n_randomised_total": 200,
    "n_randomised_total_source": "paper",
    "arms": [
        {
            "id": "len",
            "label": "lenalidomide",
            "regimen": "lenalidomide 10 mg/d",
            "treatment": "lenalidomide",
            "agents": ["lenalidomide"],
            "n_randomised": 100,
            "n_source": "paper",
        },
        {
            "id": "obs",
            "label": "observation",
            "regimen": "observation",
            "treatment": "observation",
            "n_randomised": 100,
            "n_source": "paper",
        },
    ],
    "comparisons": [
        {
            "id": "len_vs_obs",
            "experimental_arm": "len",
            "control_arm": "obs",
            "kind": "maintenance_vs_control",
            "control_type": "observation",
        },
    ],
    "estimates": [
        {
            "comparison": "len_vs_obs",
            "outcome": "PFS",
            "source": "paper",
            "report": "primary",
            "status": "latest",
            "hr": 0.6,
            "ci_low": 0.45,
            "ci_high": 0.8,
            "p_value": "<0.001",
            "events_experimental": 40,
            "events_control": 60,
        },
        {
            "comparison": "len_vs_obs",
            "outcome": "OS",
            "source": "paper",
            "report": "primary",
            "status": "latest",
            "hr": 0.8,
            "ci_low": 0.55,
            "ci_high": 1.16,
        },
    ],
    "adverse_events": [
        {
            "comparison": "len_vs_obs",
            "term": "neutropenia",
            "grade": "3-4",
            "source": "paper",
            "events_experimental": 20,
            "n_experimental": 100,
            "events_control": 2,
            "n_control": 100,
        },
    ],
    "sources": [
        {
            "id": "paper",
            "kind": "primary",
            "pmid": "12345678",
            "first_author": "Doe J",
            "year": 2020,
            "location": "abstract",
        },
    ],
}


@pytest.fixture
def good_trial() -> dict:
    return copy.deepcopy(GOOD_TRIAL)


@pytest.fixture
def write_trial(tmp_path):
    """Write trial dicts as YAML files in a fresh folder; return the folder."""

    def _write(*trials: dict):
        folder = tmp_path / "evidence"
        folder.mkdir(exist_ok=True)
        for trial in trials:
            (folder / f"{trial['id']}.yaml").write_text(
                yaml.safe_dump(trial, sort_keys=False), encoding="utf-8"
            )
        return folder

    return _write
