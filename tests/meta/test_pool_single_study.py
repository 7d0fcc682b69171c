"""pool() with one study answers as metafor's rma() does (it used to refuse k = 1).

Oracle: metafor 3.8.1, regenerate with
    Rscript -e 'library(metafor); r <- rma(yi=0.3, vi=0.04); print(r); print(predict(r));
                r <- rma(yi=0.3, vi=0.04, test="knha"); print(r)'
which prints estimate 0.3000, se 0.2000, z 1.5000, p 0.1336, CI -0.0920 to 0.6920, tau^2 0,
I^2 0.00%, H^2 1.00, Q(df = 0) = 0.0000, p-val = 1.0000, PI = CI, and for test="knha" the
warning 'Setting argument test="z" since k=1' with the same numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from plateau.errors import PlateauError
from plateau.meta import MetaWarning, pool


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "PM", "EB", "HE", "SJ", "EE"])
def test_one_study_is_its_own_estimate(method):
    r = pool([0.3], [0.04], method=method)
    assert r.k == 1
    assert r.estimate == pytest.approx(0.3, abs=1e-15)
    assert r.se == pytest.approx(0.2, abs=1e-15)
    assert r.zval == pytest.approx(1.5)
    assert r.pval == pytest.approx(0.1336144, abs=1e-7)
    assert (r.ci_low, r.ci_high) == pytest.approx((-0.0920, 0.6920), abs=5e-5)
    assert r.tau2 == 0.0 and r.i2 == 0.0 and r.h2 == 1.0
    assert (r.q, r.q_df, r.q_pval) == (0.0, 0, 1.0)
    assert (r.pi_low, r.pi_high) == pytest.approx((r.ci_low, r.ci_high))
    assert r.weights[0] == 100.0
    assert "one study" in r.summary() or method in ("EE", "FE")


def test_knha_with_one_study_falls_back_to_z_with_a_warning():
    with pytest.warns(MetaWarning, match="uses test='z'"):
        r = pool([0.3], [0.04], test="knha")
    assert (r.ci_low, r.ci_high) == pytest.approx((-0.0920, 0.6920), abs=5e-5)


def test_batch_mixing_one_study_rows_with_others_matches_separate_fits():
    y = np.array([[0.3, np.nan, np.nan], [0.1, 0.3, 0.2], [np.nan, -0.2, np.nan]])
    v = np.array([[0.04, np.nan, np.nan], [0.04, 0.05, 0.03], [np.nan, 0.09, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = pool(y, v, method="REML")
    alone = pool([0.1, 0.3, 0.2], [0.04, 0.05, 0.03], method="REML")
    assert r.estimate[1] == pytest.approx(alone.estimate, rel=1e-14)
    assert r.tau2[1] == pytest.approx(alone.tau2, abs=1e-15)
    assert r.se_tau2[1] == pytest.approx(alone.se_tau2, rel=1e-14)
    assert list(r.k) == [1, 3, 1]
    assert r.estimate[2] == pytest.approx(-0.2) and r.se[2] == pytest.approx(0.3)
    assert np.isnan(r.se_tau2[0]) and r.q_df[0] == 0


def test_one_study_with_a_fixed_tau2_widens_the_interval():
    r = pool([0.3], [0.04], tau2=0.05)
    assert r.tau2 == 0.05
    assert r.se == pytest.approx(0.3)


def test_prediction_with_t_needs_more_studies():
    with pytest.raises(PlateauError, match="k = 1"):
        pool([0.3], [0.04], prediction="t_k1")


def test_no_study_is_still_refused():
    with pytest.raises(PlateauError):
        pool(np.array([[np.nan, np.nan]]), np.array([[np.nan, np.nan]]))
