""" "Which maintenance?" networks from the bundled evidence base (plateau.analysis.network)."""

from __future__ import annotations

import json
import math

import pytest

from plateau.analysis.network import (
    NODE_OF,
    OBSERVATION,
    PUBLISHED_REFERENCE,
    EdgeTrial,
    _studies,
    maintenance_network,
    which_maintenance,
)
from plateau.errors import PlateauError
from plateau.evidence import load_bundled
from plateau.evidence.schema import Treatment
from plateau.meta.network import nma


def test_every_normalised_treatment_has_a_node():
    assert set(NODE_OF) == set(Treatment)
    assert NODE_OF[Treatment.placebo] == NODE_OF[Treatment.observation] == OBSERVATION


@pytest.fixture(scope="module")
def networks():
    return which_maintenance(load_bundled())


def test_builtin_networks_exist_for_both_settings_and_outcomes(networks):
    assert set(networks) == {
        ("post_asct", "PFS"),
        ("post_asct", "OS"),
        ("non_transplant", "PFS"),
        ("non_transplant", "OS"),
    }
    for net in networks.values():
        json.dumps(net.to_dict())
        assert net.summary().startswith("Which maintenance?")


def test_post_asct_pfs_edges_are_the_trials_behind_the_nma(networks):
    net = networks[("post_asct", "PFS")]
    main = net.main
    assert main is not None and main.reference == OBSERVATION
    assert "lenalidomide" in main.treatments
    # each directly compared pair of the main sub-network has its trials listed, and the NMA
    # was fitted on exactly the pairs built from those trials
    edge_trials = net.edge_trials()
    fitted = {tuple(sorted((p[1], p[2]))) for p in main.result.data.pairs}
    for pair in fitted:
        assert edge_trials.get(pair), pair
    studies_in_main = {p[0] for p in main.result.data.pairs}
    for e in net.edges:
        if e.experimental in main.treatments:
            assert e.trial_id in {s.split(":")[0] for s in studies_in_main}
            assert e.citation  # every edge cites its source


def test_post_asct_pfs_agrees_in_direction_with_gay_2018(networks):
    """Gay et al., JAMA Oncol 2018 (PUBLISHED_REFERENCE): lenalidomide maintenance improves PFS
    versus no maintenance, HR 0.39 (0.28-0.53).  Our network must agree in direction and its CI
    must overlap the published one (trial sets and follow-up differ)."""
    main = networks[("post_asct", "PFS")].main
    vs = main.result.effects_vs(OBSERVATION)["lenalidomide"]
    hr, lo, hi = (math.exp(vs[k]) for k in ("estimate", "ci_low", "ci_high"))
    pub_hr, pub_lo, pub_hi = PUBLISHED_REFERENCE["PFS"]["lenalidomide"]
    assert hi < 1.0 and pub_hi < 1.0
    assert lo <= pub_hi and pub_lo <= hi
    # Blood Neoplasia 2024 NMA (transplant-eligible, PFS vs placebo): credible intervals overlap
    # ours
    second = PUBLISHED_REFERENCE["second_reference"]["PFS_post_asct"]
    ours = main.result.effects_vs(OBSERVATION)
    for name, (_p_hr, p_lo, p_hi) in second.items():
        if name in ours:
            lo, hi = math.exp(ours[name]["ci_low"]), math.exp(ours[name]["ci_high"])
            assert lo <= p_hi and p_lo <= hi, name
    # every active maintenance in the connected post-ASCT network beats observation on PFS
    for name, v in main.result.effects_vs(OBSERVATION).items():
        assert v["estimate"] < 0, name


def test_comparisons_sharing_an_arm_become_one_multi_arm_study():
    # synthetic three-arm trial: A vs C (log HR -0.5, se 0.2) and B vs C (-0.3, se 0.25), 100
    # events in the shared arm C -> v_C = 0.01
    def edge(x, c, lhr, se):
        return EdgeTrial(
            "T1",
            "Trial 1",
            f"{x}_vs_{c}",
            x,
            c,
            "PFS",
            math.exp(lhr),
            0.1,
            9.0,
            lhr,
            se,
            "r",
            "cite",
            (),
            90,
            100,
        )

    excluded = []
    studies, edges = _studies([edge("A", "C", -0.5, 0.2), edge("B", "C", -0.3, 0.25)], excluded)
    assert not excluded and len(studies) == 1
    label, rows = studies[0]
    assert label == "T1" and len(rows) == 3
    byp = {(r[1], r[2]): r for r in rows}
    assert byp[("A", "B")][3] == pytest.approx(-0.2)
    assert byp[("A", "C")][3] == pytest.approx(-0.5) and byp[("A", "C")][4] == pytest.approx(0.2)
    assert byp[("B", "C")][4] == pytest.approx(0.25)
    assert byp[("A", "B")][4] == pytest.approx(math.sqrt(0.2**2 - 0.01 + 0.25**2 - 0.01))
    assert all("approximate covariance" in " ".join(e.flags) for e in edges)
    res = nma(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
        reference="C",
        random=False,
    )
    assert res.effects_vs("C")["A"]["estimate"] == pytest.approx(-0.5)
    assert res.effects_vs("C")["A"]["se"] == pytest.approx(0.2)


def test_bad_arguments():
    with pytest.raises(PlateauError, match="unknown setting"):
        maintenance_network("induction", "PFS")
    with pytest.raises(PlateauError, match="unknown outcome"):
        maintenance_network("post_asct", "CR")
