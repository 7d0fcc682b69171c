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

import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np

from plateau import __version__
from plateau.analysis import AnalysisSpec, run_analysis
from plateau.analysis.builtin import AGENTS_TODAY
from plateau.decide.flexible import Landmark, fit_landmarks, rmst_grid, simpson_weights
from plateau.decide.model import interval, nnt, simulate_normal
from plateau.decide.profile import VTE_FACTORS, Profile, parse_profile
from plateau.decide.quality import (
    incidence_per_month,
    jeffreys_draws,
    project,
    qtwist,
    qtwist_partition,
    threshold_table,
)
from plateau.decide.results import (
    Burden,
    Decision,
    Flag,
    Harm,
    HorizonResult,
    OptionResult,
    OutcomeResult,
    Per100,
    QTwist,
    RMSTGain,
)
from plateau.errors import PlateauError
from plateau.evidence import EvidenceBase, load_bundled, vocabulary
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
    bortezomib_neuropathy_action,
    renal_dose,
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
    return OPTION_LABELS.get(agent, f"{vocabulary.label('agent', agent, capital=True)} maintenance")


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
# landmarks of the control arms (flexible baseline)
# --------------------------------------------------------------------------------------------

_STATUS_RANK = {EstimateStatus.latest: 0}


def _arm_n(trial: Trial, comparison, e) -> float | None:
    n = e.n_control or trial.arm(comparison.control_arm).n_randomised
    if n is None and trial.n_randomised_total:
        n = trial.n_randomised_total / len(trial.arms)  # approximate: equal allocation assumed
    return float(n) if n else None


def _comparison_landmarks(trial: Trial, comparison, wanted) -> list[Landmark]:
    """Every published landmark of one control arm, once each.

    The first outcome of ``wanted`` (PFS, else EFS, else TTP; or OS) that has any landmark is
    used.  A median is kept once per comparison and a rate once per time point, preferring the
    latest report, then the longest follow-up (earlier reports' medians are less mature
    estimates of the same quantity; a rate at a time the latest report does not give is kept).
    """
    for outcome in wanted:
        rows = [
            e
            for e in trial.estimates
            if e.comparison == comparison.id
            and e.outcome == outcome
            and e.subgroup is None
            and e.measured_from in _FROM_MAINTENANCE
        ]
        rows.sort(key=lambda e: (_STATUS_RANK.get(e.status, 1), -(e.median_followup_months or 0.0)))
        chosen: dict[tuple[str, float], Landmark] = {}
        for e in rows:
            n = _arm_n(trial, comparison, e)
            if not n:
                continue
            source = trial.source(e.source)
            common = dict(
                trial_id=trial.id,
                trial_name=trial.acronym or trial.name,
                comparison_id=comparison.id,
                outcome=outcome.value,
                n=n,
                report=e.report,
                citation=citation(source),
                link=_link(source),
                location=source.location,
            )
            if e.median_control and not e.median_control_not_reached:
                key = ("median", 0.0)
                if key not in chosen:
                    chosen[key] = Landmark(
                        kind="median", months=e.median_control, survival=0.5, **common
                    )
            if e.rate_control is not None and e.rate_timepoint_months and 0 < e.rate_control < 100:
                key = ("rate", float(e.rate_timepoint_months))
                if key not in chosen:
                    chosen[key] = Landmark(
                        kind="rate",
                        months=float(e.rate_timepoint_months),
                        survival=e.rate_control / 100.0,
                        **common,
                    )
        if chosen:
            return sorted(chosen.values(), key=lambda lm: lm.months)
    return []


def _landmarks(base: EvidenceBase, setting: str, outcome: str) -> tuple[list[Landmark], str]:
    """Control-arm landmarks for ``outcome`` ("PFS" = disease control, or "OS") and the rule."""
    wanted = DISEASE_CONTROL if outcome == "PFS" else (Outcome.OS,)

    def collect(settings: set[str]) -> list[Landmark]:
        out: list[Landmark] = []
        for trial in base.trials:
            if trial.era != "modern":
                continue
            for c in trial.comparisons:
                if (
                    trial.comparison_setting(c).value in settings
                    and c.kind == ComparisonKind.maintenance_vs_control
                    and c.control_type in (ControlType.observation, ControlType.placebo)
                ):
                    out.extend(_comparison_landmarks(trial, c, wanted))
        return out

    points = collect({setting})
    rule = (
        f"every published median and x-year rate of the control arms of modern-era "
        f"{setting.replace('_', '-')} trials of maintenance vs observation/placebo"
    )
    if not points:
        points = collect({"mixed"})
        rule = (
            "no such control arm in the patient's setting: control arms of modern-era "
            "mixed-population trials of maintenance vs observation/placebo"
        )
    return points, rule


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
    baseline_model: str = "flexible",
    u_tox: float | None = None,
    u_rel: float | None = None,
    tox_months: float | None = None,
) -> Decision:
    """Absolute benefits, harms, quality-adjusted time, burden and flags of each option.

    Parameters
    ----------
    profile : Profile or dict
        A validated :class:`Profile` or a mapping validated with :func:`parse_profile`.
    base : EvidenceBase, optional
        Defaults to the bundled evidence base.
    horizon_years : float, optional
        An extra horizon (0.5-15 years) shown with 1, 3 and 5 years; also the horizon of the
        restricted means, Q-TWiST and projected harms (default 5 years).
    n_sims, seed : int
        Simulation size and seed (stored with the decision; same inputs give the same numbers).
    baseline_model : str
        ``"flexible"`` (default; :mod:`plateau.decide.flexible`) or ``"exponential"``
        (sensitivity analysis).
    u_tox, u_rel, tox_months : float, optional
        Q-TWiST utilities of time with toxicity and after progression (0-1) and the months a
        grade >= 3 toxicity lasts; defaults :data:`plateau.rules.decision.QTWIST_DEFAULTS`.
    """
    if not isinstance(profile, Profile):
        profile = parse_profile(profile)
    if isinstance(n_sims, bool) or not isinstance(n_sims, int) or n_sims < 100:
        raise PlateauError(f"n_sims: must be a whole number >= 100 (got {n_sims!r})")
    if baseline_model not in ("flexible", "exponential"):
        raise PlateauError(
            f"baseline_model: must be 'flexible' or 'exponential' (got {baseline_model!r})"
        )
    utilities = _utilities(u_tox, u_rel, tox_months)
    base = base or load_bundled()
    horizons, rmst_years = _horizons(horizon_years)
    months = np.array(horizons) * 12.0
    tau = rmst_years * 12.0
    grid, sw = simpson_weights(tau)
    tgrid = np.where(grid > 0, grid, 1.0)
    setting = profile.setting
    rng = np.random.default_rng(seed)

    # baselines (shared by every option: one denominator and one curve per outcome)
    baselines: dict[str, dict[str, Any]] = {}
    curves: dict[str, _Curve | None] = {}
    for outcome in ("PFS", "OS"):
        landmarks, rule = _landmarks(base, setting, outcome)
        multiplier, adjustments = _prognostic_multiplier(profile, outcome)
        if not landmarks:
            curves[outcome] = None
            baselines[outcome] = {
                "available": False,
                "rule": rule,
                "reason": f"no control-arm {outcome} median or x-year rate in this setting",
            }
            continue
        fit = fit_landmarks(landmarks, baseline_model)
        draws = fit.draw(rng, n_sims)
        curve = _Curve(
            fit,
            multiplier,
            h_grid=np.where(grid > 0, np.exp(fit.log_cumhaz(tgrid)), 0.0),
            h_grid_draws=np.where(grid > 0, np.exp(fit.log_cumhaz(tgrid, draws)), 0.0),
            h_months=np.exp(fit.log_cumhaz(months)),
            h_months_draws=np.exp(fit.log_cumhaz(months, draws)),
        )
        curve.set_weights(sw)
        curves[outcome] = curve
        median = fit.median_months(multiplier)
        baselines[outcome] = {
            "available": True,
            "rule": rule,
            **fit.to_dict(),
            "adjustments": adjustments,
            "hazard_multiplier": multiplier,
            "patient_median_months": median,
            "short_text": (
                f"{outcome}: {_MODEL_WORDS[fit.model]} through {len(landmarks)} control-arm "
                f"landmark{'s' if len(landmarks) != 1 else ''} of "
                f"{len({lm.trial_id for lm in landmarks})} trial"
                f"{'s' if len({lm.trial_id for lm in landmarks}) != 1 else ''}"
                + (f", median {median:.0f} months" if median else "")
                + (
                    f", hazard x{multiplier:.2f} for "
                    + ", ".join(a["text"] for a in adjustments if a["hazard_multiplier"] != 1.0)
                    if multiplier != 1.0
                    else ""
                )
            ),
            "text": (
                f"{outcome} without maintenance: {_MODEL_WORDS[fit.model]} fitted to "
                f"{len(landmarks)} published landmark{'s' if len(landmarks) != 1 else ''}"
                + (f", median {median:.0f} months" if median else "")
                + (
                    " ("
                    + "; ".join(a["text"] for a in adjustments)
                    + f": hazard x{multiplier:.2f})"
                    if adjustments
                    else ""
                )
                + "; from "
                + "; ".join(lm.text() for lm in landmarks)
            ),
        }

    options: list[OptionResult] = []
    not_available: list[dict[str, str]] = []
    general_flags = _general_flags(profile, setting)
    hr_draw_cache: dict[str, np.ndarray] = {}

    # observation (the reference): its toxicity is the control arms' own
    control_tox = _tox_incidence(base, None, setting, profile, curves, "control", rng, n_sims)
    obs_outcomes = {
        outcome: _outcome_result(
            outcome,
            curves[outcome],
            None,
            None,
            horizons,
            months,
            rmst_years,
            sw,
            rng,
            n_sims,
            reference=True,
            hr_cache=hr_draw_cache,
        )
        for outcome in ("PFS", "OS")
    }
    obs_q = _qtwist(curves, obs_outcomes, control_tox, utilities, sw, rng, n_sims, None)
    options.append(
        OptionResult(
            "observation",
            _label("observation"),
            True,
            obs_outcomes["PFS"][0],
            obs_outcomes["OS"][0],
            (),
            (),
            tuple(general_flags),
            None,
            tuple(_baseline_sources(baselines)),
            qtwist=obs_q.result if obs_q else None,
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
        outcomes = {
            outcome: _outcome_result(
                outcome,
                curves[outcome],
                relative[outcome],
                agent,
                horizons,
                months,
                rmst_years,
                sw,
                rng,
                n_sims,
                profile=profile,
                base=base,
                hr_cache=hr_draw_cache,
            )
            for outcome in ("PFS", "OS")
        }
        trial_ids = sorted({s.contribution.trial_id for r in relative.values() for s in r.studies})
        harms, missing = _harms(base, agent, setting, profile)
        harms = _project_harms(harms, base, agent, curves, outcomes, tau, rng, n_sims)
        tox = _tox_incidence(
            base, agent, setting, profile, curves, "experimental", rng, n_sims, outcomes=outcomes
        )
        q = _qtwist(curves, outcomes, tox, utilities, sw, rng, n_sims, obs_q)
        flags = _option_flags(agent, profile, harms, base, setting) + general_flags
        burden = _burden(agent, trial_ids, base, profile)
        safety = _safety(agent, profile)
        sources = _sources(relative, baselines, harms, flags, safety)
        options.append(
            OptionResult(
                agent,
                _label(agent),
                False,
                outcomes["PFS"][0],
                outcomes["OS"][0],
                tuple(harms),
                tuple(missing),
                tuple(flags),
                burden,
                tuple(sources),
                qtwist=q.result if q else None,
                safety=tuple(safety),
                hrqol=tuple(R.hrqol_for(agent, setting)),
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
        assumptions=_assumptions(baseline_model, utilities),
        derived=derived,
        baseline_model=baseline_model,
        utilities=utilities,
        values=R.values_data(),
    )


_MODEL_WORDS = {
    "spline": "a flexible (Royston-Parmar spline) curve",
    "weibull": "a Weibull curve",
    "exponential": "an exponential (constant-risk) curve",
}


def _utilities(u_tox, u_rel, tox_months) -> dict[str, float]:
    d = R.QTWIST_DEFAULTS
    out = {
        "u_tox": d["u_tox"] if u_tox is None else u_tox,
        "u_rel": d["u_rel"] if u_rel is None else u_rel,
        "tox_months": d["tox_months"] if tox_months is None else tox_months,
    }
    for name, value in out.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise PlateauError(f"{name}: must be a number (got {value!r})")
    for name in ("u_tox", "u_rel"):
        if not 0.0 <= out[name] <= 1.0:
            raise PlateauError(f"{name}: a utility must be between 0 and 1 (got {out[name]:g})")
    if not 0.0 <= out["tox_months"] <= 24.0:
        raise PlateauError(
            f"tox_months: must be between 0 and 24 months (got {out['tox_months']:g})"
        )
    return {k: float(v) for k, v in out.items()}


def _prognostic_multiplier(profile: Profile, outcome: str) -> tuple[float, list[dict[str, Any]]]:
    """Hazard multiplier of the patient's prognostic factors (cited cohort data) and why."""
    multiplier, out = 1.0, []
    mrd_known = profile.mrd_status in ("negative", "positive")
    if profile.r_iss_stage and mrd_known:
        out.append(
            {
                "by": "R-ISS",
                "value": profile.r_iss_stage,
                "hazard_multiplier": 1.0,
                "text": f"R-ISS {profile.r_iss_stage} not applied (MRD status used instead)",
                "rule": R.RULES["riss-mrd-not-both"].to_dict(),
            }
        )
    elif profile.r_iss_stage:
        m = R.riss_multiplier(profile.r_iss_stage, outcome)
        multiplier *= m
        out.append(
            {
                "by": "R-ISS",
                "value": profile.r_iss_stage,
                "hazard_multiplier": m,
                "text": f"R-ISS {profile.r_iss_stage}",
                "rule": R.RULES["riss-adjust"].to_dict(),
            }
        )
    if mrd_known:
        m = R.mrd_multiplier(profile.mrd_status, outcome)
        multiplier *= m
        out.append(
            {
                "by": "MRD",
                "value": profile.mrd_status,
                "hazard_multiplier": m,
                "text": f"MRD {profile.mrd_status}",
                "rule": R.RULES["mrd-adjust"].to_dict(),
            }
        )
    return multiplier, out


class _Curve:
    """A baseline curve's cumulative hazard at the Simpson grid and horizons (point, draws)."""

    def __init__(self, fit, multiplier, h_grid, h_grid_draws, h_months, h_months_draws):
        self.fit = fit
        self.multiplier = multiplier
        self.h_grid = h_grid * multiplier
        self.h_grid_draws = h_grid_draws * multiplier
        self.h_months = h_months * multiplier
        self.h_months_draws = h_months_draws * multiplier
        self.s0_grid_draws = np.exp(-self.h_grid_draws)
        self.s0_months_draws = np.exp(-self.h_months_draws)

    def set_weights(self, sw) -> None:
        self.rmst0 = float(rmst_grid(np.exp(-self.h_grid), sw))
        self.rmst0_draws = rmst_grid(self.s0_grid_draws, sw)

    def rmst(self, factor: float, tau: float, patient: bool, intervals: int = 240) -> float:
        """Restricted mean of ``S0^factor`` to ``tau`` months (point estimate, own grid);
        ``patient`` applies the prognostic multiplier (the trials' populations have none)."""
        g, w = simpson_weights(tau, intervals)
        h = np.where(g > 0, np.exp(self.fit.log_cumhaz(np.where(g > 0, g, 1.0))), 0.0)
        m = self.multiplier if patient else 1.0
        return float(np.exp(-factor * m * h) @ w)


def _assumptions(model: str, u: dict[str, float]) -> tuple[str, ...]:
    baseline = (
        "Without maintenance, the chance of staying progression-free (or alive) follows a curve "
        "fitted to every published median and x-year rate of the trials' control arms (weighted "
        "by arm size): a flexible spline with enough landmarks, else a Weibull curve, else an "
        "exponential one; its uncertainty includes the spread between trials."
        if model == "flexible"
        else "Sensitivity analysis: without maintenance, the risk is constant over time "
        "(exponential curve through the control arms' landmarks)."
    )
    return (
        baseline,
        "With maintenance, the risk at every moment is the control risk times the pooled hazard "
        "ratio (proportional hazards: S1(t) = S0(t)^HR). No trial in the evidence base reports a "
        "hazard ratio that changes over time, so none is modelled.",
        "Ranges ('between X and Y of 100') cover 95% of the simulations (stored number and seed) "
        "that vary the hazard ratio within its random-effects prediction distribution and the "
        "baseline curve within its fitted uncertainty.",
        "Harms are projected to the same horizon as the benefits assuming a constant rate per "
        "month of exposure (progression-free time for side effects, survival time for second "
        "cancers) equal to the trial's over its follow-up.",
        f"Quality-adjusted time (Q-TWiST) counts time with a severe (grade 3 or worse) side effect "
        f"at {u['u_tox']:g}, time after progression at {u['u_rel']:g} and other time at 1; each "
        f"severe side effect is assumed to last {u['tox_months']:g} month(s) on average.",
        "Numbers beyond the trials' follow-up are extrapolations and are marked.",
    )


def _hr_draws(log_hr: float, sd: float, rng, n_sims: int, cache: dict, key: str) -> np.ndarray:
    if key not in cache:
        cache[key] = np.exp(simulate_normal(rng, log_hr, sd, n_sims))
    return cache[key]


def _outcome_result(
    outcome: str,
    curve: _Curve | None,
    result,
    agent,
    horizons,
    months,
    rmst_years,
    sw,
    rng,
    n_sims,
    *,
    reference: bool = False,
    profile: Profile | None = None,
    base: EvidenceBase | None = None,
    hr_cache: dict,
) -> tuple[OutcomeResult, _Grids | None]:
    if curve is None:
        return OutcomeResult(
            outcome, False, f"no control-arm {outcome} data to build a baseline in this setting"
        ), None
    if reference:
        log_hr, sd, hr_info, follow_up = 0.0, 0.0, None, None
        trials: tuple[dict[str, Any], ...] = ()
    else:
        pooled = result.pooled
        if pooled is None:
            return OutcomeResult(outcome, False, _unavailable_reason(agent, result)), None
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
                "proportional_hazards": True,
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
    hr_draws = _hr_draws(log_hr, sd, rng, n_sims, hr_cache, f"{agent}-{outcome}")
    hr = math.exp(log_hr)
    s0 = np.exp(-curve.h_months)
    s1 = np.exp(-hr * curve.h_months)
    s0_draws = curve.s0_months_draws
    s1_draws = s0_draws if reference else np.exp(-hr_draws[:, None] * curve.h_months_draws)
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
    S1g = np.exp(-hr * curve.h_grid)
    r0 = curve.rmst0
    r1 = float(rmst_grid(S1g, sw))
    S1g_d = curve.s0_grid_draws if reference else np.exp(-hr_draws[:, None] * curve.h_grid_draws)
    gain_draws = rmst_grid(S1g_d, sw) - curve.rmst0_draws
    glo, ghi = interval(gain_draws)
    rmst = RMSTGain(rmst_years, r0, r1, Per100(r1 - r0, float(glo), float(ghi)))
    notes: tuple[str, ...] = ()
    if not reference and profile is not None and base is not None:
        notes = _subgroup_notes(result, profile, base, outcome)
    out = OutcomeResult(outcome, True, None, hr_info, trials, tuple(horizon_results), rmst, notes)
    return out, _Grids(S1g, S1g_d, hr)


class _Grids:
    """An option's survival on the Simpson grid (point and draws) and its point HR."""

    def __init__(self, s1, s1_draws, hr):
        self.s1, self.s1_draws, self.hr = s1, s1_draws, hr


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
    n_with = a.n_experimental or _arm_size(trial, record.experimental_arm)
    n_without = a.n_control or _arm_size(trial, record.control_arm)
    with_ = _per100(
        a.events_experimental,
        n_with if a.events_experimental is not None else None,
        a.percent_experimental,
    )
    without = _per100(
        a.events_control,
        n_without if a.events_control is not None else None,
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
        n_with=float(n_with) if n_with else None,
        n_without=float(n_without) if n_without else None,
    )


# --------------------------------------------------------------------------------------------
# toxicity incidence, Q-TWiST and projected harms (plateau.decide.quality)
# --------------------------------------------------------------------------------------------


class _Tox:
    """Pooled incidence of a first grade >= 3 adverse event per progression-free month."""

    def __init__(self, incidence, draws, rows, lower_bound):
        self.incidence = incidence
        self.draws = draws
        self.rows = rows
        self.lower_bound = lower_bound


def _arm_size(trial: Trial, arm) -> float | None:
    """Randomised size of an arm, else the trial's total over its arms (equal allocation)."""
    if arm.n_randomised:
        return float(arm.n_randomised)
    if trial.n_randomised_total:
        return trial.n_randomised_total / len(trial.arms)
    return None


def _exposure_follow_up(trial: Trial, a) -> tuple[float | None, bool]:
    """Follow-up (months) over which an adverse-event proportion accrued, and whether assumed.

    The median follow-up of the same report when recorded; else the trial's shortest reported
    median follow-up (adverse events are usually from the primary analysis; a shorter exposure
    gives a higher rate, erring towards more harm), said so with the number.
    """
    fu = _follow_up(trial, a.comparison, a.source)
    if fu:
        return fu, False
    values = [e.median_followup_months for e in trial.estimates if e.median_followup_months]
    return (min(values), True) if values else (None, False)


def _grade3_rows(records, arm: str) -> list[tuple[Any, float, float, bool]]:
    """Per trial: (record, proportion, n, lower_bound) of any grade >= 3 adverse event in ``arm``.

    The trial's "any adverse event, grade >= 3" when it gives a number, else the largest of its
    specific grade >= 3 events (a lower bound: patients with several events are counted once).
    """
    by_trial: dict[str, list] = {}
    for r in records:
        a = r.adverse_event
        if a.subgroup is not None or not _grade_ok(a.grade, ">=3"):
            continue
        by_trial.setdefault(r.trial.id, []).append(r)
    out = []
    for rows in by_trial.values():
        best = None
        for r in rows:
            a = r.adverse_event
            if arm == "experimental":
                n = a.n_experimental or _arm_size(r.trial, r.experimental_arm)
                p = _per100(a.events_experimental, n, a.percent_experimental)
            else:
                n = a.n_control or _arm_size(r.trial, r.control_arm)
                p = _per100(a.events_control, n, a.percent_control)
            if p is None or not n:
                continue
            overall = a.term == AdverseEventTerm.any_adverse_event
            cand = (r, p / 100.0, float(n), not overall)
            if (
                best is None
                or (overall and best[3])
                or (overall == (not best[3]) and p / 100 > best[1])
            ):
                best = cand
        if best is not None:
            out.append(best)
    return out


def _tox_incidence(
    base, agent, setting, profile, curves, arm, rng, n_sims, outcomes=None
) -> _Tox | None:
    records = base.adverse_events(
        **({"agent": agent} if agent else {}),
        setting=list(_settings(setting)),
        comparison_kind=ComparisonKind.maintenance_vs_control,
    )
    rows = _grade3_rows(records, arm)
    curve = curves.get("PFS")
    if not rows or curve is None:
        return None
    hr = 1.0
    if arm == "experimental" and outcomes and outcomes["PFS"][1] is not None:
        hr = outcomes["PFS"][1].hr
    num, den, used = 0.0, 0.0, []
    for r, p, n, lower in rows:
        fu, assumed = _exposure_follow_up(r.trial, r.adverse_event)
        if not fu:
            continue
        exposure = curve.rmst(hr, fu, patient=False)
        num += n * float(-math.log1p(-min(p, 1 - 1e-9)))
        den += n * exposure
        used.append((r, p, n, lower, fu, exposure, assumed))
    if not used:
        return None
    lam_draws = np.zeros(n_sims)
    for _r, p, n, *_rest in used:
        lam_draws += n * -np.log1p(-np.minimum(jeffreys_draws(rng, p, n, n_sims), 1 - 1e-9))
    lam_draws /= den
    info = [
        {
            "trial_id": r.trial.id,
            "trial_name": r.trial.acronym or r.trial.name,
            "arm": arm,
            "percent": 100 * p,
            "n": n,
            "follow_up_months": fu,
            "exposure_months": exposure,
            "term_as_reported": r.adverse_event.term_as_reported or r.adverse_event.term.value,
            "lower_bound": lower,
            "follow_up_assumed": assumed,
            "citation": citation(r.source),
        }
        for r, p, n, lower, fu, exposure, assumed in used
    ]
    return _Tox(num / den, lam_draws, info, any(u[3] for u in used))


class _Q:
    def __init__(self, result, draws):
        self.result = result
        self.draws = draws  #: dict of per-draw arrays (q, tox, twist, rel)


def _qtwist(curves, outcomes, tox: _Tox | None, u, sw, rng, n_sims, reference: _Q | None):
    pfs, os_ = outcomes["PFS"], outcomes["OS"]
    if pfs[1] is None or os_[1] is None:
        return None
    gp, go = pfs[1], os_[1]
    pf = float(rmst_grid(np.minimum(gp.s1, go.s1), sw))
    osr = float(rmst_grid(go.s1, sw))
    pf_d = rmst_grid(np.minimum(gp.s1_draws, go.s1_draws), sw)
    os_d = rmst_grid(go.s1_draws, sw)
    if tox is not None:
        lam = tox.incidence
        lam_d = tox.draws
    else:
        lam, lam_d = 0.0, np.zeros(n_sims)
    p_tox = float(project(lam, pf))
    p_tox_d = project(lam_d, pf_d)
    t, w, r = (float(x) for x in qtwist_partition(pf, osr, p_tox, u["tox_months"]))
    td, wd, rd = qtwist_partition(pf_d, os_d, p_tox_d, u["tox_months"])
    q = float(qtwist(t, w, r, u["u_tox"], u["u_rel"]))
    qd = qtwist(td, wd, rd, u["u_tox"], u["u_rel"])
    lo, hi = interval(qd)
    notes = []
    if tox is None:
        notes.append(
            "no grade 3 or worse adverse-event proportion in the matching trials: time with "
            "toxicity set to 0, so quality-adjusted time is overstated"
        )
    elif tox.lower_bound:
        notes.append(
            "grade 3 or worse toxicity taken from the single most frequent severe side effect "
            "(no overall figure reported): time with toxicity is understated"
        )
    if tox is not None and any(row["follow_up_assumed"] for row in tox.rows):
        notes.append(
            "the follow-up of a toxicity report was not recorded: the trial's shortest reported "
            "follow-up was assumed as its exposure"
        )
    gain = threshold = relative = None
    if reference is not None:
        ref = reference.result
        gd = qd - reference.draws["q"]
        glo, ghi = interval(gd)
        gain = Per100(q - ref.qtwist.estimate, float(glo), float(ghi))
        relative = (q - ref.qtwist.estimate) / ref.os_months if ref.os_months else None
        threshold = threshold_table(w - ref.twist, t - ref.tox, r - ref.rel)
    result = QTwist(
        horizon_years=round(float(sw.sum()) / 12.0, 9),
        tox=t,
        twist=w,
        rel=r,
        os_months=osr,
        p_tox=p_tox,
        qtwist=Per100(q, float(lo), float(hi)),
        gain=gain,
        relative_gain=relative,
        threshold=threshold,
        utilities=dict(u),
        toxicity_sources=tuple(tox.rows) if tox else (),
        notes=tuple(notes),
    )
    return _Q(result, {"q": qd})


def _project_harms(harms, base, agent, curves, outcomes, tau, rng, n_sims) -> list[Harm]:
    """Each harm per 100 patients projected to ``tau`` months (constant rate per exposure month)."""
    out = []
    for h in harms:
        fu, assumed = h.horizon_months, False
        if not fu:
            trial = base.trial(h.trial_id)
            values = [e.median_followup_months for e in trial.estimates if e.median_followup_months]
            fu, assumed = (min(values), True) if values else (None, False)
        if h.unit != "per 100 patients" or h.with_per_100 is None or not fu or h.n_with is None:
            out.append(h)
            continue
        use = "OS" if h.term == "second_primary_malignancy" else "PFS"
        curve = curves.get(use)
        grids = outcomes[use][1]
        if curve is None:
            out.append(h)
            continue
        hr = grids.hr if grids is not None else 1.0
        e_trial_with = curve.rmst(hr, fu, patient=False)
        e_trial_without = curve.rmst(1.0, fu, patient=False)
        e_pat_with = curve.rmst(hr, tau, patient=True)
        e_pat_without = curve.rmst(1.0, tau, patient=True)

        def proj(p, n, e_trial, e_pat):
            lam = incidence_per_month(p, e_trial)
            d = jeffreys_draws(rng, p, n, n_sims)
            pd = project(incidence_per_month(d, e_trial), e_pat)
            lo, hi = np.percentile(pd, [2.5, 97.5])
            return Per100(100 * float(project(lam, e_pat)), 100 * float(lo), 100 * float(hi))

        with_p = proj(h.with_per_100 / 100, h.n_with, e_trial_with, e_pat_with)
        without_p = (
            proj(h.without_per_100 / 100, h.n_without, e_trial_without, e_pat_without)
            if h.without_per_100 is not None and h.n_without
            else None
        )
        basis = "survival time" if use == "OS" else "progression-free time"
        out.append(
            dataclasses.replace(
                h,
                projected_with=with_p,
                projected_without=without_p,
                projected_horizon_years=tau / 12.0,
                projection_basis=(
                    (
                        "follow-up of this report not recorded: the trial's shortest reported "
                        f"follow-up ({fu:g} months) assumed; "
                        if assumed
                        else ""
                    )
                    + f"constant rate per month of {basis}: {fu:g} months of follow-up = "
                    f"{e_trial_with:.0f} months of {basis} on average in the trial; "
                    f"{e_pat_with:.0f} months for this patient over {tau / 12:g} years"
                ),
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# safety in the options: renal dose, thromboprophylaxis, neuropathy, prior exposure
# --------------------------------------------------------------------------------------------


def _vte_risk_factors(profile: Profile) -> list[tuple[str, str]]:
    factors = []
    if profile.thromboembolism_history:
        factors.append(("history of venous thromboembolism", "vte-imwg"))
    if profile.age >= 75:
        factors.append((f"age {profile.age}", "vte-age-threshold"))
    for name, words in VTE_FACTORS.items():
        if getattr(profile, name):
            factors.append((words, "vte-imwg"))
    return factors


def _safety(agent: str, profile: Profile) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    dose = renal_dose(agent, profile.creatinine_clearance, profile.dialysis)
    if dose is not None:
        what = (
            "on dialysis"
            if profile.dialysis
            else f"creatinine clearance {profile.creatinine_clearance:.0f} mL/min"
        )
        out.append(
            {
                "topic": "kidney function",
                "level": "caution" if dose.restricted else "info",
                "advice": f"{what}: starting dose {dose.dose}",
                "short": f"Kidneys: {dose.dose}",
                "rule": DOSE_RULES[dose.rule_id].to_dict(),
            }
        )
    elif agent in ("lenalidomide", "ixazomib"):
        out.append(
            {
                "topic": "kidney function",
                "level": "info",
                "advice": "creatinine clearance not entered: the starting dose depends on it",
                "short": "Kidneys: enter creatinine clearance for the dose",
                "rule": DOSE_RULES[
                    "len-renal-maintenance" if agent == "lenalidomide" else "ixa-renal"
                ].to_dict(),
            }
        )
    if agent in ("lenalidomide", "thalidomide"):
        factors = _vte_risk_factors(profile)
        if len(factors) >= 2:
            advice = "low-molecular-weight heparin (enoxaparin 40 mg daily or equivalent)"
        else:
            advice = "aspirin"
        named = ", ".join(f for f, _ in factors) or "none entered"
        out.append(
            {
                "topic": "blood clots",
                "level": "caution" if factors else "info",
                "advice": (
                    f"Thromboprophylaxis: {advice} ({len(factors)} risk factor"
                    f"{'s' if len(factors) != 1 else ''} for clots: {named})"
                    + (
                        "; lenalidomide carries a boxed warning for clots"
                        if agent == "lenalidomide"
                        else ""
                    )
                ),
                "short": (
                    f"Clots: {'LMWH' if len(factors) >= 2 else 'aspirin'} "
                    f"({len(factors)} risk factor{'s' if len(factors) != 1 else ''} entered)"
                ),
                "rule": R.RULES["vte-imwg"].to_dict(),
                "more_rules": [
                    R.RULES[r].to_dict()
                    for r in dict.fromkeys(r for _, r in factors)
                    if r != "vte-imwg"
                ]
                + ([R.RULES["len-boxed-vte"].to_dict()] if agent == "lenalidomide" else []),
            }
        )
    return out


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
    if profile.r_iss_stage and profile.mrd_status in ("negative", "positive"):
        flags.append(
            _flag(
                "info",
                f"R-ISS stage {profile.r_iss_stage} and MRD {profile.mrd_status}: the two are "
                "related and their published hazard ratios are not adjusted for each other, so "
                "only the MRD status (measured after treatment) adjusts the no-maintenance curves",
                R.RULES["riss-mrd-not-both"],
            )
        )
    elif profile.r_iss_stage:
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
                "trials' average hazard ratios are applied; the benefit for high-risk disease "
                "may differ",
                R.RULES["high-risk-no-subgroup"],
            )
        )
    if profile.frailty in ("intermediate", "frail"):
        flags.append(
            _flag(
                "caution" if profile.frailty == "frail" else "info",
                f"IMWG frailty: {profile.frailty}. In the IMWG frailty cohort, frail patients "
                "had more "
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
    # renal starting doses and thromboprophylaxis are in the option's safety advice (_safety)
    if agent == "daratumumab":
        flags.append(
            _flag(
                "info",
                "Effect by induction: CASSIOPEIA's interim analysis saw the benefit only after "
                "VTd (not after daratumumab-VTd) induction; the long-term analysis reports a "
                "benefit after both. The whole-trial hazard ratio is used (subgroup hazard "
                "ratios with confidence intervals were not read)",
                R.RULES["cassiopeia-induction-modifier"],
            )
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
                + "see the thromboprophylaxis advice (IMWG risk-assessment model)",
                R.RULES["vte-imwg"],
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
                f"{h.trial_name}{' (' + h.subgroup + ')' if h.subgroup else ''}: "
                f"{h.with_per_100:.1f} vs "
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
        visits_text = (
            f"about {visits[0]:.0f} clinic visits a year for treatment, {visits[1]}, "
            "plus blood tests"
        )
    else:
        visits_text = (
            "taken at home; clinic visits for blood tests and review (how often was not "
            "recorded in "
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
        for p in b.get("landmarks", []):
            out.append(
                {
                    "citation": p["citation"],
                    "link": p["link"],
                    "location": p["location"],
                    "used_for": (
                        f"{outcome} without maintenance ({p['trial_name']} control arm, "
                        + ("median" if p["kind"] == "median" else f"{p['months']:g}-month rate")
                        + ")"
                    ),
                }
            )
    return out


def _sources(
    relative, baselines, harms: list[Harm], flags: list[Flag], safety=()
) -> list[dict[str, Any]]:
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
    for item in safety:
        for rule in [item["rule"], *item.get("more_rules", [])]:
            out.append(
                {
                    "citation": rule["source"],
                    "link": rule.get("url") or None,
                    "location": rule.get("where"),
                    "used_for": f"{item['topic']}: {rule['rule']} [{rule['tag']}]",
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
            f"snapshot evidence version {str(snapshot.get('evidence_version'))[:12]} differs "
            "from the "
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
        baseline_model=snapshot.get("baseline_model", "flexible"),
        **{
            k: v
            for k, v in (snapshot.get("utilities") or {}).items()
            if k in ("u_tox", "u_rel", "tox_months")
        },
    )
