"""plateau.meta.network: invariances, ranking, node-splitting, connectivity and input errors."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from plateau.errors import PlateauError
from plateau.meta.network import (
    connected_components,
    network_data,
    nma,
    node_split,
    rank_probabilities,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"


def pairs_of(name):
    f = json.loads((FIXTURES / f"network_{name}.json").read_text())
    p = f["pairs"]
    return f, [p["study"], p["treat1"], p["treat2"], p["TE"], p["seTE"]]


def test_row_order_and_pair_orientation_do_not_matter():
    f, cols = pairs_of("dong2013")
    base = nma(*cols, reference="Placebo")
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(cols[0]))
    flip = rng.random(len(cols[0])) < 0.5
    s, t1, t2, te, se = (np.asarray(c, dtype=object)[perm] for c in cols)
    fl = flip[perm]
    t1n = np.where(fl, t2, t1)
    t2n = np.where(fl, t1, t2)
    ten = np.where(fl, -te.astype(float), te.astype(float))
    other = nma(
        list(s),
        list(t1n),
        list(t2n),
        ten,
        se.astype(float),
        reference="Placebo",
        treatments=base.treatments,
    )
    assert other.tau2 == pytest.approx(base.tau2, rel=1e-8)
    np.testing.assert_allclose(other.league.estimate, base.league.estimate, atol=1e-9)
    np.testing.assert_allclose(other.league.se, base.league.se, rtol=1e-8)


def test_baseline_arm_choice_does_not_matter_for_multi_arm_studies():
    # a different treatment order changes every multi-arm study's baseline arm; with rho = 1/2
    # the model is the same (REML tau2, league table)
    f, cols = pairs_of("dong2013")
    a = nma(*cols, reference="Placebo", treatments=sorted(f["treatments"]))
    b = nma(*cols, reference="Placebo", treatments=sorted(f["treatments"], reverse=True))
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-7)
    for t in a.treatments:
        for u in a.treatments:
            i, j = a.treatments.index(t), a.treatments.index(u)
            k, m = b.treatments.index(t), b.treatments.index(u)
            assert a.league.estimate[i, j] == pytest.approx(b.league.estimate[k, m], abs=1e-8)


def test_reference_only_relabels_the_league_table():
    _, cols = pairs_of("senn2013")
    a = nma(*cols, reference="placebo")
    b = nma(*cols, reference="metformin")
    np.testing.assert_allclose(a.league.estimate, b.league.estimate, atol=1e-10)
    vs = b.effects_vs("placebo")
    for i, t in enumerate(a.treatments):
        if t != "placebo":
            assert vs[t]["estimate"] == pytest.approx(a.effect[i], abs=1e-10)
            assert vs[t]["ci_high"] == pytest.approx(a.ci_high[i], abs=1e-10)
    assert b.effect[b.treatments.index("metformin")] == 0.0


def test_generalised_dl_equals_netmeta_pairwise_formula():
    """DL tau2 via Rücker's reduced pairwise weights (netmeta, Rücker 2012 eq. A.2) equals ours."""
    _, cols = pairs_of("hasselblad1998")  # two three-arm studies, Q > df
    res = nma(*cols, method="DL", reference="no_contact")
    data = res.data
    T = len(data.treatments)
    rows_x, rows_y, w, study_of = [], [], [], []
    from plateau.meta.network import _arm_pair_weights

    for s, arms in enumerate(data.study_arms):
        W = _arm_pair_weights(data.arm_variances[s], 0.0)
        th = data.arm_effects[s]
        for a in range(len(arms)):
            for b in range(a + 1, len(arms)):
                x = np.zeros(T)
                x[arms[a]], x[arms[b]] = 1.0, -1.0
                rows_x.append(x)
                rows_y.append(th[a] - th[b])
                w.append(W[a, b])
                study_of.append(s)
    Bm, y, Wm = np.array(rows_x), np.array(rows_y), np.diag(w)
    L = Bm.T @ Wm @ Bm
    H = Bm @ np.linalg.pinv(L) @ Bm.T @ Wm
    r = y - H @ y
    q = float(r @ Wm @ r)
    so = np.array(study_of)
    E = (so[:, None] == so[None, :]).astype(float)
    S = (Bm @ Bm.T) * E / 2
    df = sum(len(a) - 1 for a in data.study_arms) - (T - 1)
    tau2 = max(0.0, (q - df) / np.trace((np.eye(len(y)) - H) @ S @ Wm))
    assert q == pytest.approx(res.q_total, rel=1e-10)
    assert res.tau2 == pytest.approx(tau2, rel=1e-10)
    assert res.tau2 > 0


def test_p_scores_sum_to_half_the_treatments_and_follow_direction():
    _, cols = pairs_of("hasselblad1998")
    good = nma(*cols, reference="no_contact", small_values="undesirable")  # log OR of quitting
    bad = nma(*cols, reference="no_contact", small_values="desirable")
    T = len(good.treatments)
    assert good.p_scores.sum() == pytest.approx(T / 2, rel=1e-12)
    np.testing.assert_allclose(good.p_scores + bad.p_scores, 1.0, atol=1e-12)
    assert good.ranking()[-1][0] == "no_contact"  # every active intervention beats no contact


def test_sucra_converges_to_p_score():
    _, cols = pairs_of("senn2013")
    res = nma(*cols, reference="placebo")
    ranks = rank_probabilities(res, n_sim=20000, seed=7)
    np.testing.assert_allclose(ranks.probabilities.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(ranks.sucra, res.p_scores, atol=0.015)
    # mean rank and SUCRA are the same ordering: SUCRA = (T - mean rank) / (T - 1)
    T = len(res.treatments)
    np.testing.assert_allclose(ranks.sucra, (T - ranks.mean_rank) / (T - 1), atol=1e-12)


def test_node_split_random_two_arm_network_matches_refit_without_direct_studies():
    f, cols = pairs_of("hasselblad1998_twoarm")
    res = nma(*cols, reference="no_contact", method="REML")
    splits = node_split(res)
    s = next(x for x in splits.splits if {x.treat1, x.treat2} == {"self_help", "no_contact"})
    keep = [
        i for i in range(len(cols[0])) if {cols[1][i], cols[2][i]} != {"self_help", "no_contact"}
    ]
    sub = [[c[i] for i in keep] for c in cols]
    refit = nma(*sub, reference="no_contact", tau2=res.tau2)
    ind = refit.effects_vs(s.treat2)[s.treat1]
    assert s.indirect == pytest.approx(ind["estimate"], abs=1e-10)
    assert s.indirect_se == pytest.approx(ind["se"], rel=1e-10)
    assert s.difference == pytest.approx(s.direct - s.indirect, abs=1e-14)
    assert 0 < s.proportion_direct < 1
    assert "self_help" in splits.summary()


def test_comparison_with_only_direct_evidence_has_no_indirect_estimate():
    res = nma(
        ["s1", "s2", "s3"],
        ["A", "B", "A"],
        ["B", "C", "B"],
        [0.1, 0.2, 0.3],
        [0.1, 0.2, 0.15],
        reference="A",
        random=False,
    )
    splits = node_split(res).splits
    assert len(splits) == 2 and all(s.indirect is None for s in splits)
    ab = next(s for s in splits if {s.treat1, s.treat2} == {"A", "B"})
    w = np.array([1 / 0.1**2, 1 / 0.15**2])
    assert ab.direct * (1 if ab.treat1 == "A" else -1) == pytest.approx(
        np.sum(w * [0.1, 0.3]) / w.sum()
    )


def test_disconnected_network():
    cols = (["s1", "s2", "s3"], ["A", "C", "A"], ["B", "D", "B"], [0.1, 0.2, 0.3], [0.1, 0.2, 0.15])
    data = network_data(*cols)
    assert connected_components(data) == [("A", "B"), ("C", "D")]
    with pytest.raises(PlateauError, match="disconnected into 2 sub-networks"):
        nma(*cols)
    res = nma(*cols, reference="D", random=False)
    assert res.treatments == ("C", "D") and res.excluded_components == (("A", "B"),)
    assert res.effect[0] == pytest.approx(0.2)
    assert "Not connected to D" in res.summary()
    with pytest.raises(PlateauError, match="unknown reference treatment 'X'"):
        nma(*cols, reference="X")


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda c: c[4].__setitem__(1, 0.0), r"row 2 \(study 's2'\): seTE must be positive"),
        (lambda c: c[4].__setitem__(1, -1.0), r"row 2 \(study 's2'\): seTE must be positive"),
        (
            lambda c: c[3].__setitem__(0, float("nan")),
            r"row 1 \(study 's1'\): TE is not a finite number",
        ),
        (
            lambda c: c[2].__setitem__(0, "A"),
            r"row 1 \(study 's1'\): treat1 and treat2 are both 'A'",
        ),
        (lambda c: c[0].__setitem__(1, ""), r"row 2: study is missing"),
    ],
)
def test_bad_rows_are_named(change, message):
    cols = [["s1", "s2", "s3"], ["A", "B", "A"], ["B", "C", "C"], [0.1, 0.2, 0.3], [0.1, 0.2, 0.15]]
    change(cols)
    with pytest.raises(PlateauError, match=message):
        nma(*cols)


def test_duplicate_pair_in_a_study():
    with pytest.raises(
        PlateauError,
        match=r"row 2 \(study 's1'\): the pair 'B' vs 'A' is given twice \(also row 1\)",
    ):
        nma(["s1", "s1"], ["A", "B"], ["B", "A"], [0.1, -0.1], [0.1, 0.1])


def _three_arm(te_ac=0.5, se_ac=math.sqrt(0.05 + 0.03)):
    # arm variances 0.02 (A), 0.05 (B), 0.03 (C); effects A-B 0.2, B-C 0.3 => A-C 0.5
    return (
        ["m", "m", "m", "t"],
        ["A", "B", "A", "A"],
        ["B", "C", "C", "B"],
        [0.2, 0.3, te_ac, 0.1],
        [math.sqrt(0.07), math.sqrt(0.08), se_ac, 0.2],
    )


def test_multi_arm_with_a_missing_pair():
    cols = _three_arm()
    cols = tuple(c[1:] for c in cols)
    with pytest.raises(PlateauError, match=r"study 'm' has 3 treatments but 2 pairs"):
        nma(*cols)


def test_multi_arm_inconsistent_effects():
    with pytest.raises(
        PlateauError, match=r"study 'm': the treatment effects of its 3 arms are inconsistent"
    ):
        nma(*_three_arm(te_ac=0.6))
    nma(*_three_arm(te_ac=0.5 + 5e-4))  # within netmeta's tolerance 0.001


def test_multi_arm_inconsistent_standard_errors():
    # three arms: any three variances decompose, but these imply a negative-definite covariance
    with pytest.raises(PlateauError, match=r"study 'm': the standard errors of its pairs imply"):
        nma(*_three_arm(se_ac=math.sqrt(0.5)))
    # four arms: six variances must decompose as v_a + v_b
    arms = ["A", "B", "C", "D"]
    v = {"A": 0.02, "B": 0.05, "C": 0.03, "D": 0.04}
    study, t1, t2, te, se = [], [], [], [], []
    for i in range(4):
        for j in range(i + 1, 4):
            study.append("q")
            t1.append(arms[i])
            t2.append(arms[j])
            te.append(0.1 * (j - i))
            se.append(math.sqrt(v[arms[i]] + v[arms[j]]))
    ok = nma(study, t1, t2, te, se, random=False)
    assert ok.data.arm_variances[0] == pytest.approx([0.02, 0.05, 0.03, 0.04], abs=1e-12)
    se[5] *= 1.2
    with pytest.raises(
        PlateauError,
        match=r"study 'q': the standard errors of its 4 arms are inconsistent \(row \d",
    ):
        nma(study, t1, t2, te, se)


def test_result_objects_serialise_and_summarise():
    _, cols = pairs_of("senn2013")
    res = nma(*cols, reference="placebo")
    d = json.loads(json.dumps(res.to_dict()))
    assert d["reference"] == "placebo" and len(d["league"]) == 10 * 9
    assert set(d["p_scores"]) == set(res.treatments)
    assert d["q_total"] == pytest.approx(d["q_within"] + d["q_between"])
    text = res.summary()
    assert "Random-effects network meta-analysis (REML)" in text and "rosiglitazone" in text
    assert "metformin" in res.league.summary()
    json.dumps(node_split(res).to_dict())
    json.dumps(rank_probabilities(res, n_sim=100).to_dict())
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.tau2 = 1.0  # frozen


def test_bad_options():
    _, cols = pairs_of("senn2013")
    with pytest.raises(PlateauError, match="unknown tau2 method 'PM'"):
        nma(*cols, method="PM")
    with pytest.raises(PlateauError, match="level"):
        nma(*cols, level=95)
    with pytest.raises(PlateauError, match="tau2 must be"):
        nma(*cols, tau2=-1)
