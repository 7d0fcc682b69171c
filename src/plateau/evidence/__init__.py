"""The cited evidence base on maintenance therapy in newly diagnosed multiple myeloma.

Schema (:mod:`plateau.evidence.schema`), validation (:mod:`plateau.evidence.validation`),
loading, queries and export (:mod:`plateau.evidence.base`).  The bundled trials live in
``data/trials/<TRIAL_ID>.yaml``, one human-readable file per trial; every number cites a
source (PMID/DOI/URL and where in the paper).

>>> from plateau.evidence import load_bundled
>>> base = load_bundled()
>>> rows = base.estimates(agent="lenalidomide", setting="post_asct", outcome="PFS",
...                       comparison_kind="maintenance_vs_control")
"""

from plateau.evidence.base import (
    BUNDLED_DIR,
    CSV_COLUMNS,
    AdverseEventRecord,
    EstimateRecord,
    EvidenceBase,
    check_path,
    citation,
    load_bundled,
    load_path,
    to_csv,
    to_json,
    trial_to_yaml,
)
from plateau.evidence.schema import (
    AdverseEvent,
    AdverseEventTerm,
    AgeGroup,
    Agent,
    Arm,
    Comparison,
    ComparisonKind,
    ControlType,
    Estimate,
    EstimateStatus,
    MeasuredFrom,
    Outcome,
    RandomisationPoint,
    Setting,
    Source,
    SourceKind,
    Treatment,
    Trial,
    parse_p_value,
)
from plateau.evidence.validation import Issue, ValidationReport

__all__ = [
    "BUNDLED_DIR",
    "CSV_COLUMNS",
    "AdverseEvent",
    "AdverseEventRecord",
    "AdverseEventTerm",
    "AgeGroup",
    "Agent",
    "Arm",
    "Comparison",
    "ComparisonKind",
    "ControlType",
    "Estimate",
    "EstimateRecord",
    "EstimateStatus",
    "EvidenceBase",
    "Issue",
    "MeasuredFrom",
    "Outcome",
    "RandomisationPoint",
    "Setting",
    "Source",
    "SourceKind",
    "Treatment",
    "Trial",
    "ValidationReport",
    "check_path",
    "citation",
    "load_bundled",
    "load_path",
    "parse_p_value",
    "to_csv",
    "to_json",
    "trial_to_yaml",
]
