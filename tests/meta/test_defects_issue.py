"""Small defects of plateau.meta, each pinned by a test that failed before its fix.

* subgroup_analysis treated None/NaN labels as a subgroup; metafor omits studies with a missing
  moderator (with a warning), so plateau now drops them with a MissingStudyWarning.
* trim_and_fill with k = 2 raised a raw numpy LinAlgError; now a PlateauError (metafor stops too).
* the Q-profile summary printed "to 100" when the upper bound sits at the search limit; the true
  bound is only known to be larger: "> 100".
* a study with NaN in both yi and vi was dropped silently in a single analysis; now a warning
  names it.
* vi = 1e-320 or yi = 1e200 gave NaN/inf with numpy warnings only; now a PlateauError naming
  the study.
* Peto: the Q p-value is computed on the reported q_df (chi^2 with 0 df is a point mass at 0,
  as metafor's pchisq(QE, df = 0)).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from plateau.errors import PlateauError
from plateau.meta import (
    MissingStudyWarning,
    peto,
    pool,
    subgroup_analysis,
    tau2_confint,
    trim_and_fill,
)

Y = np.array([0.1, 0.3, -0.2, 0.5, 0.2, 0.0, 0.4])
V = np.array([0.1, 0.05, 0.2, 0.1, 0.08, 0.1, 0.06])


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan])
@pytest.mark.parametrize("tau2", ["common", "separate"])
def test_subgroup_missing_labels_are_dropped_with_a_warning(missing, tau2):
    groups = ["a", "a", missing, "b", "b", "a", "b"]
    with pytest.warns(MissingStudyWarning, match="study 2"):
        res = subgroup_analysis(Y, V, groups, tau2=tau2)
    keep = np.array([0, 1, 3, 4, 5, 6])
    ref = subgroup_analysis(Y[keep], V[keep], [groups[i] for i in keep], tau2=tau2)
    assert res.levels == ("a", "b")
    np.testing.assert_array_equal(res.k, [3, 3])
    np.testing.assert_allclose(res.estimate, ref.estimate, rtol=1e-12)
    assert res.q_between == pytest.approx(ref.q_between, rel=1e-12)


def test_subgroup_numeric_labels_with_nan():
    groups = np.array([1.0, 1.0, np.nan, 2.0, 2.0, 1.0, 2.0])
    with pytest.warns(MissingStudyWarning):
        res = subgroup_analysis(Y, V, groups)
    assert res.levels == (1.0, 2.0)


def test_trim_and_fill_k2_is_a_clear_error():
    with pytest.raises(PlateauError, match="at least 3"):
        trim_and_fill([0.1, 0.5], [0.1, 0.2])


def test_qprofile_summary_says_greater_than_at_the_search_limit():
    # k = 2 very different studies: the Q-profile upper bound lies beyond max(100, 10 tau2)
    ci = tau2_confint([0.0, 30.0], [0.01, 0.01], ci_type="QP")
    assert ci.ub_at_limit
    text = ci.summary()
    assert f"> {ci.tau2_high:.4g}" in text
    assert "to > " in text.splitlines()[1]
    ci2 = tau2_confint(Y, V, ci_type="QP")
    assert not ci2.ub_at_limit and "> " not in ci2.summary()


def test_nan_study_in_a_single_analysis_is_named():
    y = np.array([0.1, np.nan, 0.3, 0.2])
    v = np.array([0.1, np.nan, 0.2, 0.1])
    with pytest.warns(MissingStudyWarning, match=r"study 1; this study is left out .*k = 3 of 4"):
        res = pool(y, v)
    assert res.k == 3
    # a batch uses NaN as padding: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool(np.vstack([y, y]), np.vstack([v, v]))


@pytest.mark.parametrize(
    "y, v, match",
    [
        ([0.1, 0.2, 0.3], [1e-320, 0.1, 0.2], "vi outside"),
        ([1e200, 0.2, 0.3], [0.1, 0.1, 0.2], r"\|yi\| > 1e\+60 at study 0"),
        ([0.1, 0.2, 0.3], [0.1, 1e300, 0.2], "vi outside .* study 1"),
    ],
)
def test_values_that_overflow_are_a_clear_error(y, v, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning on the way
        with pytest.raises(PlateauError, match=match):
            pool(y, v)


def test_peto_q_pvalue_uses_the_reported_df():
    rng = np.random.default_rng(5)
    for _ in range(200):
        k = int(rng.integers(1, 5))
        a = rng.integers(0, 4, k)
        c = rng.integers(0, 4, k)
        b = rng.integers(0, 4, k)
        d = rng.integers(0, 4, k)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = peto(a, b, c, d)
        except PlateauError:
            continue
        if r.q_df >= 1 and r.q > 0 and r.q_pval != 1.0:
            from scipy import stats

            assert r.q_pval == pytest.approx(stats.chi2.sf(r.q, r.q_df), rel=1e-12)
        if r.q_df == 0:
            assert r.q_pval in (0.0, 1.0)
