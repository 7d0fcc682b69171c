"""Built-in analyses: the IMWG 2012 set, today's evidence per agent, and harms.

IMWG 2012 set (Figure 1: younger vs older)
    The IMWG consensus on maintenance (Ludwig et al., Blood 2012;119(13):3003; abstract read at
    http://ashpublications.net/blood/article-split/119/13/3003/29610) pooled thalidomide
    maintenance for PFS/EFS and OS, younger patients after ASCT ("all 6 studies") and elderly
    patients separately.  The figure's own trial list was not available to us (UNCONFIRMED), so
    the set is rebuilt from the thalidomide-maintenance trials reported by 2011 that the base
    holds (:data:`IMWG_TRIALS`, any comparison kind that tests thalidomide maintenance, including
    packages and active controls as the consensus did), split by age group as the figure splits
    it.  Trials of the set that cannot contribute are listed on the result as missing, with the
    reason; :data:`IMWG_NOT_SUPPORTED` lists the ones excluded by design.

Today's evidence
    For each agent, PFS and OS of comparisons that add the agent as maintenance (vs observation
    or placebo, or as an add-on to a maintenance backbone), subgroups by setting; and the same
    question per setting (``{agent}-{pfs|os}-post-asct`` / ``-non-transplant``), which the home
    page shows: the answer every entry point gives for "agent X after ASCT", mixed-population
    trials entering by the one selection rule (plateau.analysis.selection).

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
    "Rebuilt after the IMWG consensus (Ludwig et al., Blood 2012;119(13):3003): thalidomide "
    "maintenance trials reported by 2011 that the base holds, younger (after ASCT) vs older, as "
    "the consensus' Figure 1 splits them; the figure's own trial list was not available "
    "(UNCONFIRMED), so trials and reports may differ."
)
#: thalidomide-maintenance trials of the base first reported by 2011 (the consensus' horizon)
IMWG_TRIALS = (
    # younger, after ASCT
    "IFM9902",
    "TT2",
    "ALLG_MM6",
    "NCIC_MY10",
    "HOVON50",
    "MRC_MYIX",
    "BRAZIL_GBRAM",
    "BMTCTN0102",
    # older, no transplant
    "HOVON49",
    "NMSG12",
    "GIMEMA_MPT",
    "TURKISH_MPT",
    "LUDWIG2010_CEMSG",
)
#: thalidomide trials of the base left out of the IMWG set by design, with the reason
IMWG_NOT_SUPPORTED = (
    (
        "TUNISIA_ABDELKEFI",
        "single ASCT + thalidomide vs tandem ASCT: not a comparison of maintenance",
    ),
    ("GEM05MAS65", "VT vs VP maintenance (head to head), first reported after the consensus"),
    ("GEM05MENOS65", "thalidomide vs interferon maintenance, reported after the consensus"),
    ("GIMEMA-VMPT-VT", "bortezomib-thalidomide maintenance package, reported after the consensus"),
)


def _imwg() -> list[AnalysisSpec]:
    return [
        AnalysisSpec(
            id="imwg2012-thalidomide-pfs",
            title="IMWG 2012: thalidomide maintenance, PFS/EFS, younger vs older",
            description=IMWG_NOTE,
            outcome="disease_control",
            agents=(Agent.thalidomide,),
            comparison_kinds=_THAL_KINDS,
            trials=IMWG_TRIALS,
            subgroup_by=SubgroupBy.age_group,
        ),
        AnalysisSpec(
            id="imwg2012-thalidomide-os",
            title="IMWG 2012: thalidomide maintenance, OS, younger vs older",
            description=IMWG_NOTE,
            outcome="OS",
            agents=(Agent.thalidomide,),
            comparison_kinds=_THAL_KINDS,
            trials=IMWG_TRIALS,
            subgroup_by=SubgroupBy.age_group,
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


SETTINGS_TODAY = (
    ("post_asct", "post-asct", "after ASCT"),
    ("non_transplant", "non-transplant", "without transplant"),
)


def _today_by_setting() -> list[AnalysisSpec]:
    specs = []
    for agent in AGENTS_TODAY:
        name = agent.value
        for setting, slug, words in SETTINGS_TODAY:
            for outcome, label in (("disease_control", "PFS"), ("OS", "OS")):
                specs.append(
                    AnalysisSpec(
                        id=f"{name}-{label.lower()}-{slug}",
                        title=f"{name.capitalize()} maintenance {words}: {label}",
                        description=(
                            f"Comparisons that add {name} as maintenance {words}, against "
                            "observation or placebo or on top of a maintenance backbone. "
                            "Mixed-population trials enter with their subgroup for this setting, "
                            "else their whole-trial estimate, flagged."
                        ),
                        outcome=outcome,
                        agents=(agent,),
                        settings=(setting,),
                        comparison_kinds=_ADD_KINDS,
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
    specs = _imwg() + _today() + _today_by_setting() + _harms()
    return {s.id: s for s in specs}


BUILTIN_GROUPS = {
    "IMWG 2012 analyses": [s.id for s in _imwg()],
    "Today's evidence by agent": [s.id for s in _today()],
    "Today's evidence by agent and setting": [s.id for s in _today_by_setting()],
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
