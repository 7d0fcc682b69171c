"""Hypothesis properties of pool(): permutation invariance, tau2 >= 0, equal-effects =
random-effects
when tau2 = 0, batch = loop (with NaN padding), weights summing to 100."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plateau.meta import pool

METHODS = ["EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM"]

effects = st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=12)


@st.composite
def analyses(draw, min_k=2, max_k=12):
    k = draw(st.integers(min_k, max_k))
    yi = draw(
        st.lists(st.floats(-3, 3, allow_nan=False, allow_subnormal=False), min_size=k, max_size=k)
    )
    vi = draw(st.lists(st.floats(1e-3, 2.0, allow_nan=False), min_size=k, max_size=k))
    return np.array(yi), np.array(vi)


@settings(max_examples=40, deadline=None)
@given(analyses(), st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_permutation_invariance(data, method, rnd):
    yi, vi = data
    perm = np.array(rnd.sample(range(len(yi)), len(yi)))
    a = pool(yi, vi, method=method)
    b = pool(yi[perm], vi[perm], method=method)
    scale = 1 + abs(a.estimate)
    assert abs(a.estimate - b.estimate) <= 1e-9 * scale
    assert abs(a.tau2 - b.tau2) <= 1e-9 * (1 + a.tau2)
    np.testing.assert_allclose(a.weights[perm], b.weights, rtol=1e-7, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(analyses(), st.sampled_from(METHODS))
def test_tau2_nonnegative_and_weights_sum_to_100(data, method):
    res = pool(*data, method=method)
    assert res.tau2 >= 0
    assert abs(np.sum(res.weights) - 100) <= 1e-9
    assert res.ci_low <= res.estimate <= res.ci_high
    assert res.pi_low <= res.ci_low + 1e-12 and res.pi_high >= res.ci_high - 1e-12
    assert 0 <= res.i2 <= 100
    if method == "EE":  # metafor: H^2 = Q/(k-1) for the equal-effects model (can be < 1)
        assert np.isclose(res.h2, res.q / res.q_df, rtol=1e-12, atol=1e-300)
    else:  # H^2 = 1 + tau^2/v~ >= 1
        assert res.h2 >= 1 - 1e-12


@settings(max_examples=40, deadline=None)
@given(
    analyses(), st.sampled_from(["REML", "DL", "PM", "ML", "SJ"]), st.sampled_from(["z", "knha"])
)
def test_random_effects_with_tau2_zero_equals_equal_effects(data, method, test):
    yi, vi = data
    ee = pool(yi, vi, method="EE", test=test)
    re0 = pool(yi, vi, method=method, tau2=0.0, test=test)
    for name in ("estimate", "se", "ci_low", "ci_high", "pval"):
        assert np.isclose(getattr(re0, name), getattr(ee, name), rtol=1e-12, atol=1e-14), name
    re = pool(yi, vi, method=method, test=test)
    if re.tau2 == 0:
        assert np.isclose(re.estimate, ee.estimate, rtol=1e-12, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(analyses(2, 8), min_size=1, max_size=6),
    st.sampled_from(METHODS),
    st.sampled_from(["z", "knha", "adhoc"]),
)
def test_batch_equals_loop(batch, method, test):
    kmax = max(len(y) for y, _ in batch)
    Y = np.full((len(batch), kmax), np.nan)
    V = np.full_like(Y, np.nan)
    for i, (y, v) in enumerate(batch):
        Y[i, : len(y)] = y
        V[i, : len(v)] = v
    res = pool(Y, V, method=method, test=test)
    for i, (y, v) in enumerate(batch):
        one = pool(y, v, method=method, test=test)
        for name in ("estimate", "se", "tau2", "pval", "pi_high", "q", "i2"):
            got, want = getattr(res, name)[i], getattr(one, name)
            assert np.isclose(got, want, rtol=1e-9, atol=1e-12), (name, got, want)
