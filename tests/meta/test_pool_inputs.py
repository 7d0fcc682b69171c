"""Bad input to pool/meta_regression/subgroup_analysis raises PlateauError naming the problem;
non-convergence is reported, never silent."""

from __future__ import annotations

import numpy as np
import pytest

from plateau.errors import PlateauError
from plateau.meta import ConvergenceWarning, _engine, meta_regression, pool, subgroup_analysis

Y = np.array([-0.3, -0.1, 0.2, -0.5, 0.05])
V = np.array([0.04, 0.02, 0.05, 0.1, 0.03])


@pytest.mark.parametrize(
    "yi,vi,match",
    [
        ([], [], "k = 0"),
        ([0.1, 0.2], [0.02, 0.0], "non-positive at study 1"),
        ([0.1, 0.2], [0.02, -1.0], "non-positive at study 1"),
        ([0.1, np.inf], [0.02, 0.03], "infinite"),
        ([0.1, np.nan, 0.3], [0.02, 0.03, 0.04], "only one is NaN at study 1"),
        ([0.1, 0.2, 0.3], [0.02, 0.03], "shape"),
        ([[0.1, 0.2], [0.3, 0.4]], [0.02, 0.03], "shape"),
        ([["a", "b"]], [[1, 2]], "numeric"),
    ],
)
def test_pool_rejects_bad_input(yi, vi, match):
    with pytest.raises(PlateauError, match=match):
        pool(yi, vi)


def test_batch_errors_name_the_rows():
    Yb = np.tile(Y, (4, 1))
    Vb = np.tile(V, (4, 1))
    Vb[2, 3] = -0.1
    with pytest.raises(PlateauError, match=r"row 2, study 3"):
        pool(Yb, Vb)
    Yb = np.tile(Y, (4, 1))
    Vb = np.tile(V, (4, 1))
    Yb[1, :] = np.nan
    Vb[1, :] = np.nan
    with pytest.raises(PlateauError, match=r"k = 0\) in row 1"):
        pool(Yb, Vb)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(method="XYZ"), "unknown method 'XYZ'"),
        (dict(test="t"), "unknown test 't'"),
        (dict(level=95), "level"),
        (dict(prediction="HK"), "unknown prediction"),
        (dict(method="GENQ"), "needs user weights"),
        (dict(tau2=-0.1), "tau2 must be finite and >= 0"),
        (dict(weights=[1, 2, 3]), "weights has shape"),
        (dict(weights=[1, 2, -3, 1, 1]), "weights must be finite and >= 0"),
    ],
)
def test_pool_rejects_bad_options(kwargs, match):
    with pytest.raises(PlateauError, match=match):
        pool(Y, V, **kwargs)


def test_t_k2_prediction_needs_three_studies():
    with pytest.raises(PlateauError, match="k >= 3"):
        pool(Y[:2], V[:2], prediction="t_k2")


def test_regression_and_subgroup_errors():
    with pytest.raises(PlateauError, match="X has 3 rows"):
        meta_regression(Y, V, np.ones(3))
    with pytest.raises(PlateauError, match="not of full column rank"):
        meta_regression(Y, V, np.ones(5))  # collinear with the intercept
    with pytest.raises(PlateauError, match="at least p \\+ 1 = 3"):
        meta_regression(Y[:2], V[:2], np.array([[1.0], [2.0]]))
    with pytest.raises(PlateauError, match="non-finite"):
        meta_regression(Y, V, np.array([1, 2, np.nan, 4, 5.0]))
    with pytest.raises(PlateauError, match="single level"):
        subgroup_analysis(Y, V, ["a"] * 5)
    # a one-study subgroup is fitted as that study alone (metafor's rma with k = 1)
    one = subgroup_analysis(Y, V, ["a", "a", "a", "a", "b"], tau2="separate")
    assert one.estimate[1] == Y[4] and one.tau2[1] == 0.0
    assert np.isclose(one.se[1], np.sqrt(V[4]))
    with pytest.raises(PlateauError, match="'common' or 'separate'"):
        subgroup_analysis(Y, V, ["a", "a", "b", "b", "b"], tau2="both")


def test_non_convergence_is_reported(monkeypatch):
    rng = np.random.default_rng(3)
    Yb = rng.normal(0, 0.5, (5, 8))
    Vb = rng.uniform(0.01, 0.1, (5, 8))
    monkeypatch.setattr(_engine, "MAXITER", 1)
    with pytest.warns(ConvergenceWarning, match="did not converge within 1 iterations"):
        res = pool(Yb, Vb, method="REML")
    assert not np.all(res.converged)
    assert np.all(res.iterations <= 1)


def test_iterative_fits_converge_and_satisfy_the_score_equation():
    rng = np.random.default_rng(11)
    Yb = rng.normal(0, 0.4, (200, 10))
    Vb = rng.uniform(0.005, 0.2, (200, 10))
    for reml in (True, False):
        res = pool(Yb, Vb, method="REML" if reml else "ML")
        assert np.all(res.converged)
        m = np.ones_like(Yb)
        _, score, info, _ = _engine._lik_state_int(
            _engine.centred(Yb, m), Vb, m, np.asarray(res.tau2), reml
        )
        interior = np.asarray(res.tau2) > 0
        # stationary in the interior, non-increasing at the boundary (KKT)
        assert np.all(np.abs(score[interior]) <= 1e-9 * info[interior])
        assert np.all(score[~interior] <= 1e-12)


def test_results_are_json_ready_and_summarised():
    import json

    one = pool(Y, V, method="REML", test="knha")
    d = one.to_dict()
    json.dumps(d, allow_nan=False)  # plain floats/lists/None only
    assert isinstance(d["estimate"], float) and isinstance(d["k"], int) and len(d["weights"]) == 5
    assert "REML" in one.summary() and "prediction interval" in one.summary()
    batch = pool(np.vstack([Y, Y[::-1]]), np.vstack([V, V[::-1]]))
    json.dumps(batch.to_dict(), allow_nan=False)
    assert "2 meta-analyses" in batch.summary()
    reg = meta_regression(Y, V, np.arange(5.0))
    json.dumps(reg.to_dict(), allow_nan=False)
    assert "QM" in reg.summary()
    fixed = meta_regression(Y, V, np.arange(5.0), tau2=0.0)
    ee = meta_regression(Y, V, np.arange(5.0), method="EE")
    np.testing.assert_allclose(fixed.coef, ee.coef, rtol=1e-12)
