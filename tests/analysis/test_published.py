"""Published pooled results reproduced from the evidence base (McCarthy et al., JCO 2017)."""

from __future__ import annotations

import math

import pytest

from plateau.analysis.published import PUBLISHED, compare_with_published
from plateau.errors import PlateauError
from plateau.evidence import load_bundled


@pytest.fixture(scope="module")
def base():
    return load_bundled()


def test_pfs_reproduces_mccarthy_2017_from_aggregate_data(base):
    c = compare_with_published("mccarthy2017-pfs", base)
    assert set(c.trials_included) == set(PUBLISHED["mccarthy2017-pfs"].trials), c.trials_missing
    assert c.same_direction and c.intervals_overlap
    # aggregate-data pooling of the latest reports lands within 25% of the IPD hazard ratio
    assert abs(c.log_ratio_difference) < math.log(1.25), c.summary()
    assert c.result.pooled.ci_high < 1


def test_os_comparison_states_what_is_missing(base):
    c = compare_with_published("mccarthy2017-os", base)
    assert c.same_direction and c.intervals_overlap, c.summary()
    included, missing = set(c.trials_included), {t for t, _ in c.trials_missing}
    assert included | missing == set(PUBLISHED["mccarthy2017-os"].trials)
    assert all(reason for _, reason in c.trials_missing)
    data = c.to_dict()
    assert data["published"]["hr"] == 0.75 and data["differences"]
    assert data["evidence_version"] == base.version


def test_unknown_published_result(base):
    with pytest.raises(PlateauError, match="unknown published result"):
        compare_with_published("nobody2020", base)


def test_os_pool_once_ifm_2005_02_can_enter(base):
    # IFM 2005-02 printed "HR = 1" and 5-year OS 68% vs 67% of 307/307 (ASH 2013): it now enters
    # (approximate), so the three McCarthy trials are all in plateau's aggregate OS pool
    c = compare_with_published("mccarthy2017-os", base)
    assert set(c.trials_included) == set(PUBLISHED["mccarthy2017-os"].trials)
    ifm = next(s.contribution for s in c.result.studies if s.contribution.trial_id == "IFM2005-02")
    assert ifm.approximate and ifm.derivation == "hr_rates" and ifm.estimate == 1.0
    assert abs(c.log_ratio_difference) < math.log(1.1), c.summary()
