"""Turn a patient's profile and the evidence base into absolute benefits and harms per option.

Steps (each documented where it is done):

1. **Setting**: after ASCT -> ``post_asct``; not eligible -> ``non_transplant``.  Trials whose
   population is ``mixed`` (e.g. Myeloma XI, GIMEMA RV-MM-PI-209) enter by the one selection
   rule of :mod:`plateau.analysis.selection` (the setting's subgroup estimate, else the
   whole-trial estimate flagged "mixed population"), exactly as in every other view.
2. **Options**: observation, and every agent of :data:`plateau.analysis.builtin.AGENTS_TODAY`
   with at least one pooled PFS (disease control: PFS, else EFS, else TTP) or OS hazard ratio
   from comparisons of maintenance versus observation or placebo in the setting
   (:func:`plateau.analysis.run_analysis`, REML random effects).  Agents without one are listed
   under ``not_available`` with the evidence's reasons.  Where an individual-patient-data
   meta-analysis answers the same question (e.g. McCarthy 2017 for lenalidomide after ASCT), its
   hazard ratio is used and plateau's pool is shown beside it
   (:func:`plateau.analysis.published.decision_effect`).
3. **Baseline** per outcome: the control arms of the modern-era maintenance-versus-observation/
   placebo comparisons in the patient's setting (mixed-population trials only when the setting
   itself has none), time measured from maintenance randomisation or start; exponential curves
   through their medians or x-year rates, pooled (:mod:`plateau.decide.model`); adjusted for
   R-ISS stage when given (:mod:`plateau.rules.decision`).
4. **Benefit** at 1, 3, 5 years and the user's horizon: ``S1 = S0^HR``, difference per 100,
   NNT; restricted mean event-free months gained over the user's horizon (default 5 years).
5. **Uncertainty**: simulation of the predictive distributions of log HR and log baseline
   hazard (fixed seed, stored with the decision so it reproduces exactly).
6. **Harms** from the adverse events of the same trials (per 100, with the trial's follow-up as
   horizon), **burden** from the trial arms, **flags** from the profile (cited rules).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np

from plateau import __version__
from plateau.analysis import AnalysisSpec, run_analysis
from plateau.analysis.builtin import AGENTS_TODAY
from plateau.decide.model import (
    BaselineFit,
    BaselinePoint,
    fit_baseline,
    interval,
    nnt,
    rmst_exponential,
    simulate_normal,
)
from plateau.decide.profile import Profile, parse_profile
from plateau.decide.results import (
    Burden,
    Decision,
    Flag,
    Harm,
    HorizonResult,
    OptionResult,
    OutcomeResult,
    Per100,
    RMSTGain,
)
from plateau.errors import PlateauError
from plateau.evidence import EvidenceBase, load_bundled
from plateau.evidence.base import citation
from plateau.evidence.schema import (
    AdverseEventTerm,
    ComparisonKind,
    ControlType,
    EstimateStatus,
    MeasuredFrom,
    Outcome,
    Trial,
)
from plateau.rules import decision as R
from plateau.rules.citations import Rule, Source
from plateau.rules.dosing import RULES as DOSE_RULES
from plateau.rules.dosing import (
    DosingConfig,
    bortezomib_neuropathy_action,
    renal_restriction,
)

__all__ = [
    "decide",
    "DEFAULT_SEED",
    "DEFAULT_N_SIMS",
    "STANDARD_HORIZONS",
    "HARM_TARGETS",
    "reproduce",
]

DEFAULT_SEED = 20240601
DEFAULT_N_SIMS = 4000
STANDARD_HORIZONS = (1.0, 3.0, 5.0)
MAX_HORIZON_YEARS = 15.0
DISEASE_CONTROL = (Outcome.PFS, Outcome.EFS, Outcome.TTP)
_FROM_MAINTENANCE = {MeasuredFrom.maintenance_randomisation, MeasuredFrom.start_of_maintenance}

#: harms shown for every option: (term, grade wanted, plain label)
HARM_TARGETS: tuple[tuple[AdverseEventTerm, str, str], ...] = (
    (AdverseEventTerm.neutropenia, ">=3", "Neutropenia (low white cells)"),
    (AdverseEventTerm.infection, ">=3", "Infection"),
    (AdverseEventTerm.peripheral_neuropathy, ">=3", "Nerve damage (peripheral neuropathy)"),
    (AdverseEventTerm.venous_thromboembolism, ">=3", "Blood clot (thromboembolism)"),
    (AdverseEventTerm.second_primary_malignancy, "any", "A second cancer"),
    (
        AdverseEventTerm.discontinuation_due_to_ae,
        "any",
        "Stopping treatment because of side effects",
    ),
    (AdverseEventTerm.any_adverse_event, ">=3", "Any side effect"),
)
#: related terms accepted when the wanted one is absent (e.g. "cytopenias" for neutropenia)
_RELATED = {
    AdverseEventTerm.neutropenia: (AdverseEventTerm.cytopenias,),
    AdverseEventTerm.peripheral_neuropathy: (AdverseEventTerm.neurological_toxicity,),
    AdverseEventTerm.infection: (AdverseEventTerm.pneumonia,),
}

OPTION_LABELS = {"observation": "No maintenance (observation)"}


def _label(agent: str) -> str:
    return OPTION_LABELS.get(agent, f"{agent.capitalize()} maintenance")


# --------------------------------------------------------------------------------------------
# relative effects
# --------------------------------------------------------------------------------------------


def _settings(setting: str) -> tuple[str]:
    # mixed-population trials are handled by the selection rule itself (plateau.analysis)
    return (setting,)


def _spec(agent: str, setting: str, outcome: str) -> AnalysisSpec:
    return AnalysisSpec(
        id=f"decide-{agent}-{setting}-{outcome.lower()}",
        title=f"{agent} maintenance vs observation/placebo, {setting}, {outcome}",
        outcome=outcome,
        agents=(agent,),
        settings=_settings(setting),
        comparison_kinds=(ComparisonKind.maintenance_vs_control,),
        control_types=(ControlType.observation, ControlType.placebo),
    )


def _relative(agent: str, setting: str, base: EvidenceBase) -> dict[str, Any]:
    out = {}
    for key, outcome in (("PFS", "disease_control"), ("OS", "OS")):
        out[key] = run_analysis(_spec(agent, setting, outcome), base)
    return out


def _unavailable_reason(agent: str, result) -> str:
    """Why an agent has no pooled estimate: the exclusion reasons of trials that test it."""
    reasons = [
        f"{e.trial_id}: {e.reason}"
        for e in result.excluded
        if " tests " not in e.reason and "not selected" not in e.reason
    ]
    if not reasons:
        return f"no trial comparing {agent} maintenance with observation or placebo in this setting"
    return "trials exist but none gives a usable hazard ratio (" + "; ".join(reasons) + ")"


# --------------------------------------------------------------------------------------------
# baseline
# --------------------------------------------------------------------------------------------


def _baseline_points(
    base: EvidenceBase, setting: str, outcome: str
) -> tuple[list[BaselinePoint], str]:
    """Control-arm points for ``outcome`` ("PFS" = disease control, or "OS") and the rule used."""
    wanted = DISEASE_CONTROL if outcome == "PFS" else (Outcome.OS,)

    def collect(settings: set[str]) -> list[BaselinePoint]:
        points = []
        for trial in base.trials:
            if trial.era != "modern":
                continue
            for c in trial.comparisons:
                if (
                    trial.comparison_setting(c).value not in settings
                    or c.kind != ComparisonKind.maintenance_vs_control
                    or c.control_type not in (ControlType.observation, ControlType.placebo)
                ):
                    continue
                point = _first_point(trial, c, wanted)
                if point is not None:
                    points.append(point)
        return points

    points = collect({setting})
    rule = f"control arms of modern-era {setting.replace('_', '-')} trials of maintenance vs observation/placebo"
    if not points:
        points = collect({"mixed"})
        rule = (
            "no such control arm in the patient's setting: control arms of modern-era mixed-population "
            "trials of maintenance vs observation/placebo"
        )
    return points, rule


def _first_point(trial: Trial, comparison, wanted) -> BaselinePoint | None:
    control = trial.arm(comparison.control_arm)
    for outcome in wanted:
        for e in trial.estimates:
            if (
                e.comparison != comparison.id
                or e.outcome != outcome
                or e.subgroup is not None
                or e.status == EstimateStatus.superseded
                or e.measured_from not in _FROM_MAINTENANCE
            ):
                continue
            n = e.n_control or control.n_randomised
            if n is None and trial.n_randomised_total:
                n = trial.n_randomised_total / len(
                    trial.arms
                )  # approximate: equal allocation assumed
            source = trial.source(e.source)
            common = dict(
                trial_id=trial.id,
                trial_name=trial.acronym or trial.name,
                comparison_id=comparison.id,
                outcome=outcome.value,
                n_control=n,
                citation=citation(source),
                link=_link(source),
                location=source.location,
            )
            if e.median_control and not e.median_control_not_reached and n:
                events = e.events_control or n / 2
                return BaselinePoint(
                    kind="median",
                    months=e.median_control,
                    value=e.median_control,
                    events=float(events),
                    events_reported=e.events_control is not None,
                    **common,
                )
            if (
                e.rate_control is not None
                and e.rate_timepoint_months
                and 0 < e.rate_control < 100
                and n
            ):
                events = e.events_control or n * (1 - e.rate_control / 100)
                return BaselinePoint(
                    kind="rate",
                    months=e.rate_timepoint_months,
                    value=e.rate_control,
                    events=float(events),
                    events_reported=e.events_control is not None,
                    **common,
                )
    return None


def _link(source) -> str | None:
    if source.pmid:
        return f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/"
    if source.doi:
        return f"https://doi.org/{source.doi}"
    return source.url


# --------------------------------------------------------------------------------------------
# the decision
# --------------------------------------------------------------------------------------------


def _horizons(horizon_years: float | None) -> tuple[tuple[float, ...], float]:
    if horizon_years is not None:
        if (
            isinstance(horizon_years, bool)
            or not isinstance(horizon_years, (int, float))
            or not math.isfinite(horizon_years)
        ):
            raise PlateauError(f"horizon_years: must be a number of years (got {horizon_years!r})")
        if not 0.5 <= horizon_years <= MAX_HORIZON_YEARS:
            raise PlateauError(
                f"horizon_years: must be between 0.5 and {MAX_HORIZON_YEARS:g} years "
                f"(got {horizon_years:g})"
            )
        horizon_years = float(horizon_years)
    horizons = tuple(sorted(set(STANDARD_HORIZONS) | ({horizon_years} if horizon_years else set())))
    return horizons, horizon_years or 5.0


def decide(
    profile: Profile | dict,
    base: EvidenceBase | None = None,
    *,
    horizon_years: float | None = None,
    n_sims: int = DEFAULT_N_SIMS,
    seed: int = DEFAULT_SEED,
    created_at: str | None = None,
) -> Decision:
    """Absolute benefits, harms, burden and flags of each option for one patient.

    Parameters
    ----------
    profile : Profile or dict
        A validated :class:`Profile` or a mapping validated with :func:`parse_profile`.
    base : EvidenceBase, optional
        Defaults to the bundled evidence base.
    horizon_years : float, optional
        An extra horizon (0.5-15 years) shown with 1, 3 and 5 years; also the horizon of the
        restricted mean (default 5 years).
    n_sims, seed : int
        Simulation size and seed (stored with the decision; same inputs give the same numbers).
    """
    if not isinstance(profile, Profile):
        profile = parse_profile(profile)
    if not isinstance(n_sims, int) or n_sims < 100:
        raise PlateauError(f"n_sims: must be a whole number >= 100 (got {n_sims!r})")
    base = base or load_bundled()
    horizons, rmst_years = _horizons(horizon_years)
    months = np.array(horizons) * 12.0
    setting = profile.setting
    rng = np.random.default_rng(seed)

    # baselines (shared by every option so that all options use one denominator and one curve)
    baselines: dict[str, dict[str, Any]] = {}
    fits: dict[str, BaselineFit | None] = {}
    draws_h: dict[str, np.ndarray] = {}
    multipliers: dict[str, float] = {}
    for outcome in ("PFS", "OS"):
        points, rule = _baseline_points(base, setting, outcome)
        multiplier, adjustment = 1.0, None
        if profile.r_iss_stage:
            multiplier = R.riss_multiplier(profile.r_iss_stage, outcome)
            adjustment = {
                "by": "R-ISS",
                "stage": profile.r_iss_stage,
                "hazard_multiplier": multiplier,
                "rule": R.RULES["riss-adjust"].to_dict(),
            }
        multipliers[outcome] = multiplier
        if not points:
            fits[outcome] = None
            baselines[outcome] = {
                "available": False,
                "rule": rule,
                "reason": f"no control-arm {outcome} median or x-year rate in this setting",
            }
            continue
        fit = fit_baseline(points)
        fits[outcome] = fit
        draws_h[outcome] = (
            np.exp(simulate_normal(rng, fit.log_hazard, fit.predictive_sd, n_sims)) * multiplier
        )
        h = fit.hazard * multiplier
        baselines[outcome] = {
            "available": True,
            "rule": rule,
            **fit.to_dict(),
            "adjustment": adjustment,
            "patient_hazard_per_month": h,
            "patient_median_months": math.log(2) / h,
            "text": (
                f"{outcome} without maintenance: exponential curve with median {math.log(2) / h:.0f} months"
                + (
                    f" (R-ISS {profile.r_iss_stage} adjustment x{multiplier:.2f} on the hazard)"
                    if adjustment
                    else ""
                )
                + "; from "
                + "; ".join(p.text() for p in points)
            ),
        }

    options: list[OptionResult] = []
    not_available: list[dict[str, str]] = []
    general_flags = _general_flags(profile, setting)

    # observation (the reference)
    obs_outcomes = {}
    for outcome in ("PFS", "OS"):
        obs_outcomes[outcome] = _outcome_result(
            outcome,
            fits[outcome],
            draws_h.get(outcome),
            multipliers[outcome],
            None,
            None,
            horizons,
            months,
            rmst_years,
            rng,
            n_sims,
            reference=True,
        )
    options.append(
        OptionResult(
            "observation",
            _label("observation"),
            True,
            obs_outcomes["PFS"],
            obs_outcomes["OS"],
            (),
            (),
            tuple(general_flags),
            None,
            tuple(_baseline_sources(baselines)),
        )
    )

    for agent_enum in AGENTS_TODAY:
        agent = agent_enum.value
        relative = _relative(agent, setting, base)
        if relative["PFS"].pooled is None and relative["OS"].pooled is None:
            not_available.append(
                {
                    "option": agent,
                    "label": _label(agent),
                    "reason": _unavailable_reason(agent, relative["PFS"]),
                }
            )
            continue
        outcomes = {}
        for outcome in ("PFS", "OS"):
            result = relative[outcome]
            outcomes[outcome] = _outcome_result(
                outcome,
                fits[outcome],
                draws_h.get(outcome),
                multipliers[outcome],
                result,
                agent,
                horizons,
                months,
                rmst_years,
                rng,
                n_sims,
                profile=profile,
                base=base,
            )
        trial_ids = sorted({s.contribution.trial_id for r in relative.values() for s in r.studies})
        harms, missing = _harms(base, agent, setting, profile)
        flags = _option_flags(agent, profile, harms, base, setting) + general_flags
        burden = _burden(agent, trial_ids, base, profile)
        sources = _sources(relative, baselines, harms, flags)
        options.append(
            OptionResult(
                agent,
                _label(agent),
                False,
                outcomes["PFS"],
                outcomes["OS"],
                tuple(harms),
                tuple(missing),
                tuple(flags),
                burden,
                tuple(sources),
            )
        )

    crcl = profile.creatinine_clearance
    derived = {
        "creatinine_clearance_ml_min": crcl,
        "creatinine_clearance_method": profile.crcl_method,
        "high_risk_cytogenetics": profile.high_risk_cytogenetics,
        "profile_summary": profile.summary(),
    }
    return Decision(
        profile=profile.to_dict(),
        evidence_version=base.version,
        plateau_version=__version__,
        created_at=created_at or datetime.now(UTC).replace(microsecond=0).isoformat(),
        setting=setting,
        horizons_years=horizons,
        rmst_horizon_years=rmst_years,
        n_sims=n_sims,
        seed=seed,
        baselines=baselines,
        options=tuple(options),
        not_available=tuple(not_available),
        flags=tuple(general_flags),
        assumptions=ASSUMPTIONS,
        derived=derived,
    )


ASSUMPTIONS = (
    "Without maintenance, the chance of staying progression-free (or alive) follows an exponential curve "
    "through the control arms' published medians or x-year rates (constant risk over time).",
    "With maintenance, the risk at every moment is the control risk times the pooled hazard ratio "
    "(proportional hazards: S1(t) = S0(t)^HR).",
    "Ranges ('between X and Y of 100') cover 95% of 4,000 simulations (or the stored number) that vary the "
    "hazard ratio within its random-effects prediction distribution and the baseline within the spread of the "
    "control arms.",
    "Harms are the trials' own numbers per 100 patients over each trial's follow-up; they are not projected "
    "to other horizons.",
    "Numbers beyond the trials' follow-up are extrapolations and are marked.",
)


def _outcome_result(
    outcome: str,
    fit: BaselineFit | None,
    h_draws,
    multiplier: float,
    result,
    agent,
    horizons,
    months,
    rmst_years,
    rng,
    n_sims,
    *,
    reference: bool = False,
    profile: Profile | None = None,
    base: EvidenceBase | None = None,
) -> OutcomeResult:
    if fit is None:
        return OutcomeResult(
            outcome, False, f"no control-arm {outcome} data to build a baseline in this setting"
        )
    h0 = fit.hazard * multiplier
    if reference:
        log_hr, sd, hr_info, trials, follow_up = 0.0, 0.0, None, (), None
    else:
        pooled = result.pooled
        if pooled is None:
            return OutcomeResult(outcome, False, _unavailable_reason(agent, result))
        from plateau.analysis.matching import decision_effect

        tau2 = pooled.tau2 or 0.0
        log_hr, sd = pooled.log_estimate, math.sqrt(pooled.se**2 + tau2)
        z = 1.959963984540054
        plateau_pool = {
            "estimate": pooled.estimate,
            "ci_low": pooled.ci_low,
            "ci_high": pooled.ci_high,
            "pi_low": pooled.pi_low,
            "pi_high": pooled.pi_high,
            "log_estimate": pooled.log_estimate,
            "se": pooled.se,
            "tau2": pooled.tau2,
            "k": pooled.k,
            "n_patients": pooled.n_patients,
            "method": pooled.method,
        }
        hr_info = dict(plateau_pool)
        hr_info["source"] = "plateau"
        hr_info["used"] = f"plateau pool of {pooled.k} trials"
        chosen = decision_effect(result)
        if chosen is not None and chosen[0] == "published_ipd":
            ipd = next(m for m in result.published if m.synthesis.short == chosen[3])
            _, log_hr, sd, _label_used = chosen
            hr_info.update(
                estimate=ipd.estimate.hr,
                ci_low=ipd.estimate.ci_low,
                ci_high=ipd.estimate.ci_high,
                pi_low=None,
                pi_high=None,
                log_estimate=log_hr,
                se=sd,
                tau2=None,
                k=ipd.estimate.k,
                n_patients=ipd.estimate.n_patients,
                method="individual-patient-data meta-analysis",
                source="published_ipd",
                used=f"{ipd.synthesis.short}, IPD of {ipd.estimate.k} trials",
            )
        hr_info.update(
            {
                "simulated_from": {
                    "mean": log_hr,
                    "sd": sd,
                    "interval_95": [math.exp(log_hr - z * sd), math.exp(log_hr + z * sd)],
                },
                "analysis": result.spec.title,
                "plateau_pool": plateau_pool,
                "mixed_population": [
                    s.contribution.trial_id
                    for s in result.studies
                    if s.contribution.mixed_population
                ],
                "missing": [e.to_dict() for e in result.missing],
                "published": [m.to_dict() for m in result.published],
            }
        )
        trials = tuple(
            {
                "trial_id": s.contribution.trial_id,
                "label": s.contribution.label,
                "outcome_used": s.contribution.outcome,
                "hazard_ratio": s.contribution.estimate,
                "ci_low": s.ci_low,
                "ci_high": s.ci_high,
                "derivation": s.contribution.derivation,
                "approximate": s.contribution.approximate,
                "weight_percent": s.weight_percent,
                "median_follow_up_months": s.contribution.median_followup_months,
                "citation": s.contribution.source.citation,
                "link": s.contribution.source.link,
                "location": s.contribution.source.location,
            }
            for s in result.studies
        )
        fus = [
            s.contribution.median_followup_months
            for s in result.studies
            if s.contribution.median_followup_months
        ]
        follow_up = max(fus) if fus else None
    hr_draws = np.exp(simulate_normal(rng, log_hr, sd, n_sims))
    hr = math.exp(log_hr)
    s0 = np.exp(-h0 * months)
    s1 = s0**hr
    s0_draws = np.exp(-np.outer(h_draws, months))
    s1_draws = s0_draws ** hr_draws[:, None]
    lo0, hi0 = interval(s0_draws)
    lo1, hi1 = interval(s1_draws)
    lod, hid = interval(s1_draws - s0_draws)
    nnts = nnt(s0, s1)
    horizon_results = []
    for i, years in enumerate(horizons):
        horizon_results.append(
            HorizonResult(
                horizon_years=float(years),
                months=float(months[i]),
                without=Per100(100 * s0[i], 100 * lo0[i], 100 * hi0[i]),
                with_option=Per100(100 * s1[i], 100 * lo1[i], 100 * hi1[i]),
                difference=Per100(100 * (s1[i] - s0[i]), 100 * lod[i], 100 * hid[i]),
                nnt=None if reference or not np.isfinite(nnts[i]) else float(nnts[i]),
                beyond_follow_up=bool(follow_up is not None and months[i] > follow_up),
            )
        )
    tau = rmst_years * 12.0
    r0 = float(rmst_exponential(h0, tau))
    r1 = float(rmst_exponential(h0 * hr, tau))
    gain_draws = rmst_exponential(h_draws * hr_draws, tau) - rmst_exponential(h_draws, tau)
    glo, ghi = interval(gain_draws)
    rmst = RMSTGain(rmst_years, r0, r1, Per100(r1 - r0, float(glo), float(ghi)))
    notes = () if reference else _subgroup_notes(result, profile, base, outcome)
    return OutcomeResult(outcome, True, None, hr_info, trials, tuple(horizon_results), rmst, notes)


def _subgroup_notes(result, profile: Profile, base: EvidenceBase, outcome: str) -> tuple[str, ...]:
    """Subgroup estimates of the included trials that match the profile (shown, not used)."""
    notes = []
    wanted = {o.value for o in (DISEASE_CONTROL if outcome == "PFS" else (Outcome.OS,))}
    for s in result.studies:
        trial = base.trial(s.contribution.trial_id)
        for e in trial.estimates:
            if (
                e.comparison != s.contribution.comparison_id
                or e.subgroup is None
                or e.outcome.value not in wanted
            ):
                continue
            matcher = R.SUBGROUP_MATCHERS.get((trial.id, e.subgroup))
            if matcher is None or not matcher(profile):
                continue
            hr = f"HR {e.hr:g}" + (
                f" ({e.ci_low:g}-{e.ci_high:g})"
                if e.has_hr_ci
                else " without a confidence interval"
            )
            notes.append(
                f"{trial.acronym or trial.name} reported {e.outcome.value} {hr} in the subgroup "
                f"'{e.subgroup}', which matches this patient; not used (subgroup credibility not "
                f"assessed{'' if e.has_hr_ci else ', no CI'}); {citation(trial.source(e.source))}"
            )
    return tuple(notes)


# --------------------------------------------------------------------------------------------
# harms
# --------------------------------------------------------------------------------------------


def _grade_ok(grade: str, wanted: str) -> bool:
    if wanted == "any":
        return grade == "any"
    if grade.startswith(">="):
        return int(grade[2:]) >= 3
    if "-" in grade:
        return int(grade.split("-")[0]) >= 3
    return grade.isdigit() and int(grade) >= 3


def _per100(events, n, percent) -> float | None:
    if events is not None and n:
        return 100.0 * events / n
    return percent


def _harms(
    base: EvidenceBase, agent: str, setting: str, profile: Profile
) -> tuple[list[Harm], list[str]]:
    records = base.adverse_events(
        agent=agent,
        # mixed-population trials count, as in the selection rule for the relative effects
        setting=[setting, "mixed"],
        comparison_kind=ComparisonKind.maintenance_vs_control,
    )
    usable = []
    for r in records:
        a = r.adverse_event
        if a.subgroup is not None:
            matcher = R.SUBGROUP_MATCHERS.get((r.trial.id, a.subgroup))
            if matcher is None or not matcher(profile):
                continue
        usable.append(r)
    harms: list[Harm] = []
    missing: list[str] = []
    for term, grade, label in HARM_TARGETS:
        rows = [r for r in usable if r.adverse_event.term == term]
        if not rows:
            rows = [r for r in usable if r.adverse_event.term in _RELATED.get(term, ())]
        exact = [r for r in rows if _grade_ok(r.adverse_event.grade, grade)]
        chosen = exact or rows
        if not chosen:
            missing.append(label)
            continue
        for r in chosen:
            harms.append(_harm(r, term, grade, label, base, matches=bool(exact)))
    return harms, missing


def _follow_up(trial: Trial, comparison_id: str, source_id: str) -> float | None:
    values = [
        e.median_followup_months
        for e in trial.estimates
        if e.comparison == comparison_id and e.source == source_id and e.median_followup_months
    ]
    return max(values) if values else None


def _harm(record, term, grade, label, base, matches: bool) -> Harm:
    a, trial = record.adverse_event, record.trial
    with_ = _per100(
        a.events_experimental,
        a.n_experimental or record.experimental_arm.n_randomised
        if a.events_experimental is not None
        else None,
        a.percent_experimental,
    )
    without = _per100(
        a.events_control,
        a.n_control or record.control_arm.n_randomised if a.events_control is not None else None,
        a.percent_control,
    )
    unit = "per 100 patients"
    note = a.note
    if with_ is None and a.rate_per_100_patient_years_experimental is not None:
        with_ = a.rate_per_100_patient_years_experimental
        without = a.rate_per_100_patient_years_control
        unit = "per 100 patient-years"
    fu = _follow_up(trial, a.comparison, a.source)
    timeframe = (
        f"over a median follow-up of {fu:g} months"
        if fu
        else "over the trial's follow-up (its length is not recorded with this number)"
    )
    if a.phase == "whole_regimen":
        timeframe += " (whole regimen, not maintenance alone)"
    source = record.source
    return Harm(
        term=term.value,
        label=label,
        grade_target=grade,
        grade_reported=a.grade,
        matches_target_grade=matches,
        trial_id=trial.id,
        trial_name=trial.acronym or trial.name,
        with_per_100=with_,
        without_per_100=without,
        unit=unit,
        timeframe=timeframe,
        horizon_months=fu,
        citation=citation(source),
        link=_link(source),
        location=source.location,
        subgroup=a.subgroup,
        statement=a.statement,
        note=note,
    )


# --------------------------------------------------------------------------------------------
# flags
# --------------------------------------------------------------------------------------------


def _flag(level: str, message: str, rule: Rule) -> Flag:
    return Flag(level, message, rule.to_dict())


def _evidence_rule(rule_id: str, statement: str, harm: Harm) -> Rule:
    tag = "C1"
    return Rule(
        rule_id,
        statement,
        Source(harm.trial_id, harm.citation, harm.link or ""),
        harm.location or "adverse events",
        tag,
    )


def _general_flags(profile: Profile, setting: str) -> list[Flag]:
    flags = []
    if profile.r_iss_stage:
        flags.append(
            _flag(
                "info",
                f"R-ISS stage {profile.r_iss_stage}: the no-maintenance curves are adjusted "
                "with the R-ISS cohort's 5-year PFS and OS (approximate)",
                R.RULES["riss-adjust"],
            )
        )
    elif profile.r2_iss_stage:
        flags.append(
            _flag(
                "info",
                f"R2-ISS stage {profile.r2_iss_stage} recorded; no adjustment of the baseline "
                "(enter the R-ISS stage to adjust)",
                R.RULES["r2iss-no-adjust"],
            )
        )
    if profile.high_risk_cytogenetics:
        flags.append(
            _flag(
                "info",
                f"High-risk cytogenetics ({', '.join(profile.high_risk_cytogenetics)}): the "
                "trials' average hazard ratios are applied; the benefit for high-risk disease may differ",
                R.RULES["high-risk-no-subgroup"],
            )
        )
    if profile.frailty in ("intermediate", "frail"):
        flags.append(
            _flag(
                "caution" if profile.frailty == "frail" else "info",
                f"IMWG frailty: {profile.frailty}. In the IMWG frailty cohort, frail patients had more "
                "severe side effects (34.0% vs 22.2% in fit patients at 12 months) and stopped "
                "treatment more often (31.2% vs 16.5%); trial numbers here come mostly from fitter "
                "patients",
                R.RULES["frailty-outcomes"],
            )
        )
    return flags


def _option_flags(
    agent: str, profile: Profile, harms: list[Harm], base: EvidenceBase, setting: str
) -> list[Flag]:
    flags: list[Flag] = []
    crcl = profile.creatinine_clearance
    if agent == "lenalidomide":
        if crcl is None and not profile.dialysis:
            flags.append(
                _flag(
                    "info",
                    "Renal function not entered: lenalidomide's starting dose depends on "
                    "creatinine clearance",
                    DOSE_RULES["len-renal"],
                )
            )
        elif renal_restriction(agent, crcl, profile.dialysis):
            what = (
                "on dialysis"
                if profile.dialysis
                else f"creatinine clearance {crcl:.0f} mL/min (below {DosingConfig().len_renal_clcr:g})"
            )
            flags.append(
                _flag(
                    "caution",
                    f"{what}: a lower lenalidomide starting dose is recommended; the "
                    "maintenance dose by creatinine clearance was not confirmed in the sources read "
                    "(check the current label)",
                    DOSE_RULES["len-renal"],
                )
            )
    if agent == "ixazomib":
        if renal_restriction(agent, crcl, profile.dialysis):
            what = (
                "on dialysis"
                if profile.dialysis
                else f"creatinine clearance {crcl:.0f} mL/min (below {DosingConfig().ixa_renal_clcr:g})"
            )
            flags.append(
                _flag("caution", f"{what}: start ixazomib at 3 mg", DOSE_RULES["ixa-renal"])
            )
    if agent == "thalidomide" and profile.neuropathy_grade >= 2:
        flags.append(
            _flag(
                "stop",
                f"Peripheral neuropathy grade {profile.neuropathy_grade}: thalidomide is "
                "stopped when neuropathy of grade 2 or more occurs",
                DOSE_RULES["thal-pn"],
            )
        )
    elif agent == "thalidomide" and profile.neuropathy_grade == 1:
        flags.append(
            _flag(
                "caution",
                "Peripheral neuropathy grade 1: thalidomide needs careful neuropathy "
                "monitoring with a low threshold to stop; dose steps by grade were not confirmed",
                DOSE_RULES["thal-duration"],
            )
        )
    if agent == "bortezomib" and (
        profile.neuropathy_grade >= 2
        or (profile.neuropathy_grade == 1 and profile.neuropathic_pain)
    ):
        g, pain = profile.neuropathy_grade, profile.neuropathic_pain
        act, dose = bortezomib_neuropathy_action(g, pain)
        action = {
            "discontinue": "discontinue",
            "withhold": f"withhold, then restart at {float(dose):g} mg/m2",
            "reduce": f"reduce to {float(dose):g} mg/m2",
        }[str(act)]
        flags.append(
            _flag(
                "stop" if g >= 3 or (g == 2 and pain) else "caution",
                f"Peripheral neuropathy grade {g}{' with pain' if pain else ''}: bortezomib label "
                f"table says {action}",
                DOSE_RULES["btz-pn"],
            )
        )
    if profile.neuropathy_grade >= 1 and agent in ("ixazomib", "bortezomib", "thalidomide"):
        for h in harms:
            if h.term == "peripheral_neuropathy" and h.with_per_100 is not None:
                flags.append(
                    _flag(
                        "info",
                        f"Existing neuropathy (grade {profile.neuropathy_grade}); in "
                        f"{h.trial_name}, neuropathy (grade {h.grade_reported}) occurred in "
                        f"{h.with_per_100:.0f} vs "
                        + (
                            f"{h.without_per_100:.0f}"
                            if h.without_per_100 is not None
                            else "(not reported)"
                        )
                        + " of 100",
                        _evidence_rule("pn-evidence", "neuropathy rates by arm", h),
                    )
                )
    if profile.thromboembolism_history and agent in ("thalidomide", "lenalidomide"):
        vte = [
            h for h in harms if h.term == "venous_thromboembolism" and h.with_per_100 is not None
        ]
        detail = "; ".join(
            f"{h.trial_name}: {h.with_per_100:.1f} vs {h.without_per_100:.1f} of 100 had a clot"
            for h in vte
            if h.without_per_100 is not None
        )
        flags.append(
            _flag(
                "caution",
                "History of thromboembolism: "
                + (
                    f"{agent} maintenance increased clots ({detail}); "
                    if detail
                    else f"no clot data for {agent} maintenance in the matching trials; "
                )
                + "thromboprophylaxis guidance was not among the sources read",
                R.RULES["vte-prophylaxis"],
            )
        )
    spm = [h for h in harms if h.term == "second_primary_malignancy" and h.with_per_100 is not None]
    if spm and (profile.previous_second_cancer or any(h.subgroup for h in spm)):
        parts = []
        for h in spm:
            without = (
                f"{h.without_per_100:.1f}" if h.without_per_100 is not None else "not reported"
            )
            parts.append(
                f"{h.trial_name}{' (' + h.subgroup + ')' if h.subgroup else ''}: {h.with_per_100:.1f} vs "
                f"{without} {h.unit}"
            )
        reason = (
            "Previous second cancer"
            if profile.previous_second_cancer
            else "Age over 74, not transplanted"
        )
        flags.append(
            _flag(
                "caution",
                f"{reason}: second cancers were more frequent with {agent} ("
                + "; ".join(parts)
                + ")",
                _evidence_rule("spm-evidence", "second primary malignancies by arm", spm[0]),
            )
        )
    return flags


# --------------------------------------------------------------------------------------------
# burden and sources
# --------------------------------------------------------------------------------------------


def _burden(agent: str, trial_ids: list[str], base: EvidenceBase, profile: Profile) -> Burden:
    regimens = []
    durations = []
    for trial_id in trial_ids:
        trial = base.trial(trial_id)
        for c in trial.comparisons:
            if agent not in {a.value for a in trial.tested_agents(c)}:
                continue
            arm = trial.arm(c.experimental_arm)
            regimens.append(
                {
                    "trial_id": trial.id,
                    "trial_name": trial.acronym or trial.name,
                    "regimen": arm.regimen,
                    "duration": arm.duration,
                }
            )
            if arm.duration:
                durations.append(f"{arm.duration} ({trial.acronym or trial.name})")
            break
    route = R.ROUTES.get(agent)
    visits = R.INFUSION_VISITS_PER_YEAR.get(agent)
    if visits:
        visits_text = f"about {visits[0]:.0f} clinic visits a year for treatment, {visits[1]}, plus blood tests"
    else:
        visits_text = (
            "taken at home; clinic visits for blood tests and review (how often was not recorded in "
            "the evidence base)"
        )
    duration_text = (
        "; ".join(durations) or "as in the trials (duration not recorded in the evidence base)"
    )
    notes = []
    if route and profile.prefer_route != "no_preference" and route.route != profile.prefer_route:
        notes.append(
            f"Taken as {route.text}: does not match the stated preference for "
            f"{'tablets or capsules' if profile.prefer_route == 'oral' else 'injections'}"
        )
    if visits and profile.prefer_visits == "fewer":
        notes.append("Needs regular clinic visits for treatment: the patient prefers few visits")
    until = any("progression" in d or "relapse" in d for d in durations)
    fixed = any("year" in d or "month" in d for d in durations)
    if profile.prefer_duration == "fixed" and until and not fixed:
        notes.append(
            "Given until the disease progresses in the trials: the patient prefers a fixed duration"
        )
    if profile.prefer_duration == "until_progression" and fixed and not until:
        notes.append(
            "Given for a fixed time in the trials: the patient prefers continuous treatment"
        )
    return Burden(
        route.route if route else None,
        route.text if route else "see the trial regimen",
        route.source if route else None,
        tuple(regimens),
        duration_text,
        visits_text,
        visits[0] if visits else None,
        tuple(notes),
    )


def _baseline_sources(baselines: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for outcome, b in baselines.items():
        for p in b.get("points", []):
            out.append(
                {
                    "citation": p["citation"],
                    "link": p["link"],
                    "location": p["location"],
                    "used_for": f"{outcome} without maintenance ({p['trial_name']} control arm)",
                }
            )
    return out


def _sources(relative, baselines, harms: list[Harm], flags: list[Flag]) -> list[dict[str, Any]]:
    out = []
    for outcome, result in relative.items():
        for s in result.studies:
            c = s.contribution
            out.append(
                {
                    "citation": c.source.citation,
                    "link": c.source.link,
                    "location": c.source.location,
                    "used_for": f"{outcome} hazard ratio ({c.label})",
                }
            )
    out.extend(_baseline_sources(baselines))
    for h in harms:
        out.append(
            {
                "citation": h.citation,
                "link": h.link,
                "location": h.location,
                "used_for": f"{h.label} ({h.trial_name})",
            }
        )
    for f in flags:
        rule = f.rule
        out.append(
            {
                "citation": rule["source"],
                "link": rule.get("url") or None,
                "location": rule.get("where"),
                "used_for": f"flag: {rule['rule']} [{rule['tag']}]",
            }
        )
    seen, unique = set(), []
    for item in out:
        key = (item["citation"], item["used_for"])
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def reproduce(snapshot: dict[str, Any], base: EvidenceBase | None = None) -> Decision:
    """Re-run a stored decision; the evidence base must have the snapshot's evidence version."""
    base = base or load_bundled()
    if snapshot.get("evidence_version") != base.version:
        raise PlateauError(
            f"snapshot evidence version {str(snapshot.get('evidence_version'))[:12]} differs from the "
            f"loaded evidence ({base.version[:12]}): load that version to reproduce it"
        )
    sim = snapshot.get("simulation", {})
    extra = [h for h in snapshot.get("horizons_years", []) if h not in STANDARD_HORIZONS]
    horizon = (
        snapshot.get("rmst_horizon_years")
        if extra or snapshot.get("rmst_horizon_years") != 5.0
        else None
    )
    return decide(
        snapshot["profile"],
        base,
        horizon_years=horizon,
        n_sims=sim.get("n_sims", DEFAULT_N_SIMS),
        seed=sim.get("seed", DEFAULT_SEED),
        created_at=snapshot.get("created_at"),
    )
