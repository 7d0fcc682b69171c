"""plateau.meta.mh: batch path, input validation and result objects (no R needed)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from plateau.errors import PlateauError
from plateau.meta.mh import mantel_haenszel, peto

# dat.hine1989 (metadat): lidocaine and mortality after myocardial infarction
HINE = dict(
    ai=[2, 4, 6, 7, 7, 11],
    n1i=[39, 44, 107, 103, 110, 154],
    ci=[1, 4, 4, 5, 3, 4],
    n2i=[43, 44, 110, 100, 106, 146],
)
RATES = dict(
    x1i=[9, 8, 3, 6, 7, 20],
    t1i=[413, 263, 487, 237, 489, 507],
    x2i=[19, 19, 13, 9, 23, 50],
    t2i=[398, 245, 435, 241, 483, 405],
)


def _loop_vs_batch(func, data, **kwargs):
    """Rows of a ragged batch (NaN padding) equal separate 1-D fits."""
    k = len(next(iter(data.values())))
    subsets = [list(range(k)), [0, 2, 4], [1, 3, 5, 0], [5, 4]]
    batch = {key: np.full((len(subsets), k), np.nan) for key in data}
    for row, idx in enumerate(subsets):
        for key, values in data.items():
            batch[key][row, idx] = np.asarray(values, float)[idx]
    res_b = func(**batch, **kwargs)
    for row, idx in enumerate(subsets):
        res_1 = func(**{key: np.asarray(v, float)[idx] for key, v in data.items()}, **kwargs)
        for name in ("estimate", "se", "pval", "ci_low", "ci_high", "q", "q_pval", "i2", "h2"):
            one = getattr(res_1, name)
            many = np.asarray(getattr(res_b, name))[row]
            if math.isnan(one):
                assert math.isnan(many)
            else:
                assert many == pytest.approx(one, rel=1e-12, abs=1e-15), (name, row)
        w_batch = np.asarray(res_b.weights)[row]
        np.testing.assert_allclose(w_batch[idx], res_1.weights, rtol=1e-12)
        assert np.isnan(np.delete(w_batch, idx)).all()


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_batch_equals_loop_tables(measure):
    _loop_vs_batch(mantel_haenszel, HINE, measure=measure)


@pytest.mark.parametrize("measure", ["IRR", "IRD"])
def test_batch_equals_loop_rates(measure):
    _loop_vs_batch(mantel_haenszel, RATES, measure=measure)


def test_batch_equals_loop_peto():
    _loop_vs_batch(peto, HINE)


def test_permutation_invariance():
    perm = [3, 0, 5, 1, 4, 2]
    a = mantel_haenszel(**HINE, measure="OR")
    b = mantel_haenszel(**{k: np.asarray(v)[perm] for k, v in HINE.items()}, measure="OR")
    for name in ("estimate", "se", "q", "cmh", "breslow_day", "tarone"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-12)


def test_bi_di_equivalent_to_group_sizes():
    a = mantel_haenszel(**HINE, measure="RR")
    bi = np.subtract(HINE["n1i"], HINE["ai"])
    di = np.subtract(HINE["n2i"], HINE["ci"])
    b = mantel_haenszel(HINE["ai"], bi, HINE["ci"], di, measure="RR")
    assert b.estimate == pytest.approx(a.estimate, rel=1e-14)


def test_single_table_gives_metafor_k1_heterogeneity():
    res = mantel_haenszel(ai=[4], n1i=[40], ci=[8], n2i=[41], measure="OR")
    assert res.k == 1 and res.q == 0.0 and res.q_pval == 1.0 and res.i2 == 0.0 and res.h2 == 1.0
    # one table: the MH odds ratio is the table's odds ratio
    assert math.exp(res.estimate) == pytest.approx((4 * 33) / (36 * 8), rel=1e-12)


def test_no_events_in_one_group_warns_and_is_nan():
    with pytest.warns(RuntimeWarning, match="undefined"):
        res = mantel_haenszel(ai=[0, 0], n1i=[10, 12], ci=[3, 1], n2i=[10, 11], measure="RR")
    assert math.isnan(res.estimate)


def test_peto_without_events_raises():
    with pytest.raises(PlateauError, match="never occurred"):
        peto(ai=[0, 0], n1i=[10, 12], ci=[0, 0], n2i=[10, 11])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ai=[1, 2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10], measure="HR"), "unknown measure"),
        (dict(ai=[1, -2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), "negative count in ai"),
        (dict(ai=[1, 12], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), "bi = n1i - ai"),
        (dict(ai=[1, 2, 3], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), "same length"),
        (dict(ai=[], n1i=[], ci=[], n2i=[]), "k = 0"),
        (dict(ai=[1, 2], ci=[1, 2], n2i=[10, 10]), "n1i"),
        (dict(ai=[1, 2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10], to="sometimes"), "to must be"),
        (dict(ai=[1, 2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10], level=95), "level"),
        (dict(ai=[1, 0], n1i=[10, 0], ci=[1, 0], n2i=[10, 10]), "group size n1i"),
        (dict(x1i=[1, 2], t1i=[10, 0], x2i=[1, 2], t2i=[10, 10], measure="IRR"), "person-time t1i"),
        (dict(ai=[1, 2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10], measure="IRR"), "x1i"),
        (dict(ai=[np.inf, 2], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), "infinite"),
    ],
)
def test_bad_input_names_the_problem(kwargs, message):
    with pytest.raises(PlateauError, match=message):
        mantel_haenszel(**kwargs)


def test_batch_row_without_studies_is_named():
    ai = np.array([[1.0, 2.0], [np.nan, np.nan]])
    with pytest.raises(PlateauError, match="row 1"):
        mantel_haenszel(ai=ai, n1i=ai + 10, ci=ai, n2i=ai + 10)


def test_partially_missing_study_is_omitted_with_warning():
    with pytest.warns(RuntimeWarning, match="omitted"):
        res = mantel_haenszel(ai=[2, 4, np.nan], n1i=[39, 44, 50], ci=[1, 4, 3], n2i=[43, 44, 50])
    ref = mantel_haenszel(ai=[2, 4], n1i=[39, 44], ci=[1, 4], n2i=[43, 44])
    assert res.estimate == ref.estimate and res.k == 2


def test_results_serialise_and_summarise():
    res = mantel_haenszel(**HINE, measure="OR")
    text = json.dumps(res.to_dict())
    assert '"measure": "OR"' in text
    assert "Breslow-Day" in res.summary() and "CMH" in res.summary()
    pres = peto(**HINE)
    assert json.loads(json.dumps(pres.to_dict()))["k"] == 6
    assert "Peto" in pres.summary()
    batch = mantel_haenszel(**{k: np.vstack([v, v]) for k, v in HINE.items()}, measure="RD")
    assert len(batch.to_dict()["estimate"]) == 2
    assert "batch of 2" in batch.summary()
