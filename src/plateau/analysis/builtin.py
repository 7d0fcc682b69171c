"""Built-in analyses: the IMWG 2012 set, today's evidence per agent, and harms.

IMWG 2012 set
    The IMWG consensus on maintenance (Ludwig et al., Blood 2012;119(13):3003; abstract read at
    http://ashpublications.net/blood/article-split/119/13/3003/29610) pooled thalidomide
    maintenance for PFS/EFS and OS in younger (post-ASCT: "all 6 studies") and elderly patients, and
    reviewed lenalidomide maintenance after ASCT and after MPR.  The paper's full text (its
    Figure 1 trial list) was not available to us, so these specs rebuild the analysis *by rule*
    from today's evidence base: thalidomide comparisons of any kind that test thalidomide
    maintenance (added to nothing or to a backbone, and including induction + maintenance
    packages and active controls, as the six
    post-ASCT studies imply), disease control as PFS then EFS then TTP, subgroups by setting.
    Differences from the published figure are expected and are not errors.

Today's evidence
    For each agent, PFS and OS of comparisons that add the agent as maintenance (vs observation
    or placebo, or as an add-on to a maintenance backbone), subgroups by setting.

Harms
    Risk ratios of grade >= 3 neutropenia, infections, peripheral neuropathy, thromboembolism and
    of second primary malignancies (any grade), where per-arm counts or percentages exist,
    subgroups by agent.
"""

from __future__ import annotations

from plateau.analysis.spec import AnalysisSpec, SubgroupBy
from plateau.errors import PlateauError
from plateau.evidence.schema import AdverseEventTerm, Agent, ComparisonKind

_THAL_KINDS = (
    ComparisonKind.maintenance_vs_control,
    ComparisonKind.add_on,
    ComparisonKind.maintenance_vs_active,
    ComparisonKind.induction_maintenance_package,
)
_ADD_KINDS = (ComparisonKind.maintenance_vs_control, ComparisonKind.add_on)
AGENTS_TODAY = (
    Agent.thalidomide,
    Agent.lenalidomide,
    Agent.bortezomib,
    Agent.ixazomib,
    Agent.daratumumab,
    Agent.carfilzomib,
)
IMWG_NOTE = (
    "Rebuilt by rule from today's evidence base after the IMWG consensus (Ludwig et al., "
    "Blood 2012;119(13):3003); the published figure's trial list was not available, so "
    "trials and reports may differ."
)


def _imwg() -> list[AnalysisSpec]:
    return [
        AnalysisSpec(
            id="imwg2012-thalidomide-pfs",
            title="IMWG 2012: thalidomide maintenance, PFS/EFS",
            description=IMWG_NOTE,
            outcome="disease_control",
            agents=(Agent.thalidomide,),
            comparison_kinds=_THAL_KINDS,
            subgroup_by=SubgroupBy.setting,
        ),
        AnalysisSpec(
            id="imwg2012-thalidomide-os",
            title="IMWG 2012: thalidomide maintenance, OS",
            description=IMWG_NOTE,
            outcome="OS",
            agents=(Agent.thalidomide,),
            comparison_kinds=_THAL_KINDS,
            subgroup_by=SubgroupBy.setting,
        ),
        AnalysisSpec(
            id="imwg2012-lenalidomide-pfs",
            title="IMWG 2012: lenalidomide maintenance, PFS",
            description=IMWG_NOTE,
            outcome="disease_control",
            agents=(Agent.lenalidomide,),
            comparison_kinds=(ComparisonKind.maintenance_vs_control,),
            subgroup_by=SubgroupBy.setting,
        ),
    ]


def _today() -> list[AnalysisSpec]:
    specs = []
    for agent in AGENTS_TODAY:
        name = agent.value
        for outcome, label in (("disease_control", "PFS"), ("OS", "OS")):
            specs.append(
                AnalysisSpec(
                    id=f"{name}-{label.lower()}",
                    title=f"{name.capitalize()} maintenance: {label}",
                    description=(
                        f"Comparisons that add {name} as maintenance, against observation or "
                        "placebo or on top of a maintenance backbone; subgroups by setting."
                    ),
                    outcome=outcome,
                    agents=(agent,),
                    comparison_kinds=_ADD_KINDS,
                    subgroup_by=SubgroupBy.setting,
                )
            )
    return specs


HARMS = (
    (AdverseEventTerm.neutropenia, ">=3"),
    (AdverseEventTerm.infection, ">=3"),
    (AdverseEventTerm.peripheral_neuropathy, ">=3"),
    (AdverseEventTerm.venous_thromboembolism, ">=3"),
    (AdverseEventTerm.second_primary_malignancy, "any"),
)


def _harms() -> list[AnalysisSpec]:
    specs = []
    for term, grade in HARMS:
        words = term.value.replace("_", " ")
        specs.append(
            AnalysisSpec(
                id=f"harm-{term.value.replace('_', '-')}",
                title=f"Harms: {words} (grade {grade})",
                description="Risk ratio of maintenance vs control from per-arm counts (or "
                "percentages with arm sizes, flagged approximate); subgroups by agent.",
                outcome="adverse_event",
                adverse_event=term,
                adverse_event_grade=grade,
                comparison_kinds=_ADD_KINDS + (ComparisonKind.maintenance_vs_active,),
                subgroup_by=SubgroupBy.agent,
            )
        )
    return specs


def builtin_specs() -> dict[str, AnalysisSpec]:
    """All built-in analyses by id, in report order (IMWG set, per agent, harms)."""
    specs = _imwg() + _today() + _harms()
    return {s.id: s for s in specs}


BUILTIN_GROUPS = {
    "IMWG 2012 analyses": [s.id for s in _imwg()],
    "Today's evidence by agent": [s.id for s in _today()],
    "Harms": [s.id for s in _harms()],
}


def builtin_spec(analysis_id: str) -> AnalysisSpec:
    specs = builtin_specs()
    try:
        return specs[analysis_id]
    except KeyError:
        raise PlateauError(
            f"unknown analysis {analysis_id!r}; built-in analyses: {', '.join(specs)}"
        ) from None
