"""Published syntheses: schema, bundled entries as read, matching, the decision aid's rule."""

from __future__ import annotations

import pytest

from plateau.analysis import AnalysisSpec, builtin_spec, run_analysis
from plateau.analysis.builtin import IMWG_NOT_SUPPORTED, IMWG_TRIALS
from plateau.analysis.matching import decision_effect, matching_syntheses
from plateau.errors import EvidenceError
from plateau.evidence import load_bundled
from plateau.evidence.syntheses import load_syntheses, parse_syntheses


@pytest.fixture(scope="module")
def base():
    return load_bundled()


def _by_id():
    return {s.id: s for s in load_syntheses()}


def test_bundled_numbers_are_carried_as_read():
    s = _by_id()
    mc = {e.outcome: e for e in s["mccarthy2017"].estimates}
    assert s["mccarthy2017"].design == "ipd" and s["mccarthy2017"].pmid == "28742454"
    assert (mc["PFS"].hr, mc["PFS"].ci_low, mc["PFS"].ci_high) == (0.48, 0.41, 0.55)
    assert (mc["OS"].hr, mc["OS"].ci_low, mc["OS"].ci_high) == (0.75, 0.63, 0.90)
    assert mc["OS"].confidence == "C2"  # read in secondary reports, said so
    fayers = {e.outcome: e for e in s["fayers2011"].estimates}
    assert (fayers["OS"].hr, fayers["OS"].ci_low, fayers["OS"].ci_high) == (0.83, 0.73, 0.94)
    wang = {e.outcome: e for e in s["wang2016"].estimates}
    assert (wang["PFS"].hr, wang["OS"].hr, wang["OS"].ci_high) == (0.62, 0.93, 1.01)
    assert s["gay2018"].estimates == [] and "UNCONFIRMED" in s["gay2018"].note
    bneo = {(e.agent.value, e.setting.value): e for e in s["bneo2024"].estimates}
    assert bneo[("lenalidomide", "post_asct")].interval == "CrI"
    assert bneo[("daratumumab", "post_asct")].hr == 0.49


def test_every_linked_trial_exists(base):
    ids = {t.id for t in base.trials}
    for s in load_syntheses():
        for e in s.estimates:
            assert set(e.trials) <= ids, (s.id, e.trials)


def test_bad_synthesis_names_entry_and_field():
    row = {
        "id": "x",
        "short": "X",
        "citation": "X",
        "url": "https://example.org",
        "design": "ipd",
        "model": "m",
        "estimates": [
            {
                "outcome": "OS",
                "agent": "lenalidomide",
                "hr": 0.5,
                "ci_low": 0.6,
                "ci_high": 0.9,
                "location": "abstract",
                "confidence": "C1",
            }
        ],
    }
    with pytest.raises(EvidenceError, match="synthesis x: estimates.0"):
        parse_syntheses([row], "test.yaml")


def test_matching_rule(base):
    post_os = AnalysisSpec(outcome="OS", agents=("lenalidomide",), settings=("post_asct",))
    matches = matching_syntheses(post_os)
    assert [m.synthesis.id for m in matches] == ["mccarthy2017"]
    assert matches[0].exact and matches[0].is_ipd
    want = "published: McCarthy 2017, IPD of 3 trials: OS HR 0.75 (0.63\u20130.90)"
    assert want in matches[0].text()
    # a setting filter never shows another setting's estimate
    nt = AnalysisSpec(
        outcome="disease_control", agents=("lenalidomide",), settings=("non_transplant",)
    )
    assert {m.estimate.setting.value for m in matching_syntheses(nt)} == {"non_transplant"}
    # the IMiD-class meta-analysis is shown as related (not exact) without a setting filter
    all_thal = AnalysisSpec(outcome="OS", agents=("thalidomide",))
    related = [m for m in matching_syntheses(all_thal) if m.synthesis.id == "wang2016"]
    assert related and not related[0].exact and "related" in related[0].text()
    # binary outcomes have no published synthesis
    assert matching_syntheses(AnalysisSpec(outcome="CR", agents=("lenalidomide",))) == ()


def test_decision_rule_prefers_exact_ipd_then_plateau(base):
    r = run_analysis(
        AnalysisSpec(outcome="OS", agents=("lenalidomide",), settings=("post_asct",)), base
    )
    source, log_hr, se, label = decision_effect(r)
    assert source == "published_ipd" and label == "McCarthy 2017"
    assert log_hr == pytest.approx(-0.2876820725, abs=1e-9)  # ln 0.75
    # se from the wider half of the CI: ln(0.90/0.75) = 0.182322 > ln(0.75/0.63) = 0.174353;
    # 0.182322 / 1.959964 = 0.093023
    assert se == pytest.approx(0.0930232, abs=1e-6)
    nt = run_analysis(
        AnalysisSpec(outcome="OS", agents=("lenalidomide",), settings=("non_transplant",)), base
    )
    assert decision_effect(nt)[0] == "plateau"


def test_imwg_figure1_set_younger_vs_older(base):
    pfs = run_analysis(builtin_spec("imwg2012-thalidomide-pfs"), base)
    assert pfs.spec.subgroup_by.value == "age_group"
    assert {s.contribution.trial_id for s in pfs.studies} <= set(IMWG_TRIALS)
    levels = {s.level: s.pooled.k for s in pfs.subgroups}
    assert levels["younger"] >= 3
    # every trial of the set that contributes nothing is listed with its reason
    accounted = {s.contribution.trial_id for s in pfs.studies} | {m.trial_id for m in pfs.missing}
    assert accounted == set(IMWG_TRIALS)
    tt2 = next(m for m in pfs.missing if m.trial_id == "TT2")
    assert tt2.n_randomised == 668 and "cannot be estimated soundly" in tt2.reason
    assert {t for t, _ in IMWG_NOT_SUPPORTED}.isdisjoint(IMWG_TRIALS)
