"""plateau.analysis: declarative analysis specs, evidence -> plateau.meta -> result objects.

>>> from plateau.evidence import load_bundled
>>> from plateau.analysis import builtin_spec, run_analysis
>>> result = run_analysis(builtin_spec("lenalidomide-pfs"), load_bundled())
>>> print(result.summary())  # doctest: +SKIP
"""

from plateau.analysis.builtin import BUILTIN_GROUPS, builtin_spec, builtin_specs
from plateau.analysis.run import (
    AbsoluteEffect,
    AnalysisResult,
    PooledEffect,
    StudyResult,
    SubgroupResult,
    SubgroupTest,
    run_analysis,
)
from plateau.analysis.selection import Contribution, Exclusion, select
from plateau.analysis.spec import (
    AnalysisSpec,
    ModelSpec,
    SensitivitySpec,
    SubgroupBy,
    load_spec,
    spec_from_dict,
)

__all__ = [
    "AbsoluteEffect",
    "AnalysisResult",
    "AnalysisSpec",
    "BUILTIN_GROUPS",
    "Contribution",
    "Exclusion",
    "ModelSpec",
    "PooledEffect",
    "SensitivitySpec",
    "StudyResult",
    "SubgroupBy",
    "SubgroupResult",
    "SubgroupTest",
    "builtin_spec",
    "builtin_specs",
    "load_spec",
    "run_analysis",
    "select",
    "spec_from_dict",
]
