"""plateau.meta: the numerical core of plateau.

Effect sizes, pooling, heterogeneity, subgroups and meta-regression, 2x2 pooling,
sensitivity and small-study-effect methods, network meta-analysis.  NumPy/SciPy only,
no I/O and no plotting.  Every function is vectorised over a batch of meta-analyses
(rows of a 2-D array, NaN where a study is absent); a single analysis is a batch of one.
"""

from plateau.meta._common import ConvergenceWarning, MetaWarning, MissingStudyWarning
from plateau.meta.bias import (
    EggerResult,
    FailSafeNResult,
    PetPeeseResult,
    RankTestResult,
    TrimFillResult,
    egger_test,
    fail_safe_n,
    pet_peese,
    rank_correlation_test,
    trim_and_fill,
)
from plateau.meta.effects import (
    EffectSizes,
    escalc,
    log_hr_from_ci,
    log_hr_from_medians,
    log_hr_from_oe,
    log_hr_from_p,
    log_hr_from_p_events,
)
from plateau.meta.heterogeneity import (
    HeterogeneityCI,
    profile_likelihood_ci,
    qprofile_ci,
    tau2_confint,
)
from plateau.meta.mh import MantelHaenszelResult, PetoResult, mantel_haenszel, peto
from plateau.meta.pool import PoolResult, pool
from plateau.meta.regression import (
    MetaRegressionResult,
    RegressionPrediction,
    SubgroupResult,
    meta_regression,
    subgroup_analysis,
)
from plateau.meta.sensitivity import (
    InfluenceResult,
    SequentialResult,
    cumulative,
    influence,
    leave_one_out,
)

__all__ = [
    "pool",
    "PoolResult",
    "MetaWarning",
    "ConvergenceWarning",
    "MissingStudyWarning",
    "meta_regression",
    "MetaRegressionResult",
    "RegressionPrediction",
    "subgroup_analysis",
    "SubgroupResult",
    "tau2_confint",
    "qprofile_ci",
    "profile_likelihood_ci",
    "HeterogeneityCI",
    "EffectSizes",
    "escalc",
    "log_hr_from_ci",
    "log_hr_from_p",
    "log_hr_from_oe",
    "log_hr_from_p_events",
    "log_hr_from_medians",
    "mantel_haenszel",
    "MantelHaenszelResult",
    "peto",
    "PetoResult",
    "leave_one_out",
    "cumulative",
    "SequentialResult",
    "influence",
    "InfluenceResult",
    "egger_test",
    "EggerResult",
    "rank_correlation_test",
    "RankTestResult",
    "trim_and_fill",
    "TrimFillResult",
    "fail_safe_n",
    "FailSafeNResult",
    "pet_peese",
    "PetPeeseResult",
]
