"""Evidence browser (HTML) and the trials/estimates JSON API."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from plateau.errors import PlateauError
from plateau.evidence import EvidenceBase, Trial
from plateau.evidence.base import EstimateRecord, citation
from plateau.evidence.schema import Agent, ComparisonKind, Outcome, Setting
from plateau.web.pages import page

router = APIRouter()

SORT_KEYS = ("trial", "year", "setting", "n", "pfs", "os")


def base_of(request: Request) -> EvidenceBase:
    return request.app.state.evidence


def _filter_value(field: str, value: str | None, enum_type) -> str | None:
    if value in (None, ""):
        return None
    try:
        return enum_type(value).value
    except ValueError:
        allowed = ", ".join(m.value for m in enum_type)
        raise PlateauError(f"{field}: unknown value {value!r}; allowed: {allowed}") from None


def _hr_text(record: EstimateRecord | None) -> str:
    if record is None:
        return ""
    e = record.estimate
    if e.has_hr_ci:
        return f"{e.hr:.2f} [{e.ci_low:.2f}, {e.ci_high:.2f}]"
    if e.hr is not None:
        return f"{e.hr:.2f} (no CI)"
    return ""


def _first_source_year(trial: Trial) -> int:
    years = [s.year for s in trial.sources if s.year]
    return min(years) if years else 0


def trial_rows(
    base: EvidenceBase,
    *,
    agent=None,
    setting=None,
    outcome=None,
    comparison_kind=None,
    sort: str = "trial",
    descending: bool = False,
) -> list[dict[str, Any]]:
    """One summary row per trial that has a comparison matching the filters."""
    filters = {"agent": agent, "setting": setting, "comparison_kind": comparison_kind}
    records = base.estimates(outcome=outcome, **filters) if outcome else None
    keep = {r.trial.id for r in records} if records is not None else None
    rows = []
    for trial in base.trials:
        if keep is not None and trial.id not in keep:
            continue
        comparisons = [
            c
            for c in trial.comparisons
            if (not comparison_kind or c.kind.value == comparison_kind)
            and (not setting or trial.comparison_setting(c).value == setting)
            and (not agent or agent in {a.value for a in trial.tested_agents(c)})
        ]
        if not comparisons:
            continue
        pfs = base.estimates(trial=trial.id, outcome="PFS", with_hr_ci=False)
        os_ = base.estimates(trial=trial.id, outcome="OS", with_hr_ci=False)
        pfs_hr = next((r for r in pfs if r.estimate.hr is not None), None)
        os_hr = next((r for r in os_ if r.estimate.hr is not None), None)
        agents = sorted({a.value for c in comparisons for a in trial.tested_agents(c)})
        n = (
            sum(a.n_randomised or 0 for a in trial.arms)
            if trial.n_randomised_total is None
            else trial.n_randomised_total
        )
        rows.append(
            {
                "id": trial.id,
                "name": trial.acronym or trial.name,
                "full_name": trial.name,
                "year": _first_source_year(trial) or None,
                "setting": trial.setting.value,
                "age_group": trial.age_group.value,
                "agents": agents,
                "kinds": sorted({c.kind.value for c in comparisons}),
                "n": n or None,
                "pfs": _hr_text(pfs_hr),
                "os": _hr_text(os_hr),
                "pfs_value": pfs_hr.estimate.hr if pfs_hr else None,
                "os_value": os_hr.estimate.hr if os_hr else None,
            }
        )
    key = {
        "trial": lambda r: r["name"].lower(),
        "year": lambda r: r["year"] or 0,
        "setting": lambda r: (r["setting"], r["name"].lower()),
        "n": lambda r: r["n"] or 0,
        "pfs": lambda r: r["pfs_value"] if r["pfs_value"] is not None else math.inf,
        "os": lambda r: r["os_value"] if r["os_value"] is not None else math.inf,
    }[sort]
    return sorted(rows, key=key, reverse=descending)


def _filters(agent, setting, outcome, comparison_kind):
    return {
        "agent": _filter_value("agent", agent, Agent),
        "setting": _filter_value("setting", setting, Setting),
        "outcome": _filter_value("outcome", outcome, Outcome),
        "comparison_kind": _filter_value("comparison_kind", comparison_kind, ComparisonKind),
    }


def _sort(sort: str) -> tuple[str, bool]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise PlateauError(
            f"sort: unknown key {sort!r}; allowed: {', '.join(SORT_KEYS)} (prefix - to reverse)"
        )
    return key, descending


@router.get("/evidence", response_class=HTMLResponse, include_in_schema=False)
def evidence_page(
    request: Request,
    agent: str | None = None,
    setting: str | None = None,
    outcome: str | None = None,
    comparison_kind: str | None = None,
    sort: str = "trial",
):
    filters = _filters(agent, setting, outcome, comparison_kind)
    key, descending = _sort(sort)
    rows = trial_rows(base_of(request), sort=key, descending=descending, **filters)
    context = dict(
        rows=rows,
        filters=filters,
        sort=sort,
        agents=[a.value for a in Agent],
        settings=[s.value for s in Setting],
        outcomes=["PFS", "EFS", "TTP", "OS", "PFS2", "CR", "VGPR_or_better", "MRD_negativity"],
        kinds=[k.value for k in ComparisonKind],
    )
    if request.headers.get("HX-Request"):
        from plateau.web.pages import TEMPLATES

        return TEMPLATES.TemplateResponse(request, "_trial_rows.html", context)
    return page(request, "evidence.html", title="Evidence", active_nav="/evidence", **context)


@router.get("/evidence/{trial_id}", response_class=HTMLResponse, include_in_schema=False)
def trial_page(request: Request, trial_id: str):
    base = base_of(request)
    trial = _trial_or_404(base, trial_id)
    return page(
        request,
        "trial.html",
        title=trial.acronym or trial.name,
        active_nav="/evidence",
        trial=trial,
        citation=citation,
        sources={s.id: s for s in trial.sources},
    )


def _trial_or_404(base: EvidenceBase, trial_id: str) -> Trial:
    from fastapi import HTTPException

    try:
        return base.trial(trial_id)
    except PlateauError:
        raise HTTPException(status_code=404, detail=f"unknown trial {trial_id!r}") from None


# ---------------------------------------------------------------------------- JSON API


@router.get("/api/v1/trials", tags=["evidence"], summary="List trials (filterable, sortable)")
def api_trials(
    request: Request,
    agent: str | None = Query(None, description="Agent tested by a comparison"),
    setting: str | None = Query(None, description="post_asct, non_transplant, mixed"),
    outcome: str | None = Query(None, description="Trial has an estimate of this outcome"),
    comparison_kind: str | None = Query(None),
    sort: str = Query("trial", description="trial, year, setting, n, pfs, os; -key reverses"),
):
    base = base_of(request)
    key, descending = _sort(sort)
    rows = trial_rows(
        base, sort=key, descending=descending, **_filters(agent, setting, outcome, comparison_kind)
    )
    for row in rows:
        row.pop("pfs_value"), row.pop("os_value")
    return {"evidence_version": base.version, "count": len(rows), "trials": rows}


@router.get(
    "/api/v1/trials/{trial_id}", tags=["evidence"], summary="One trial with every number and source"
)
def api_trial(request: Request, trial_id: str):
    base = base_of(request)
    trial = _trial_or_404(base, trial_id)
    return {"evidence_version": base.version, "trial": trial.model_dump(mode="json")}


@router.get("/api/v1/estimates", tags=["evidence"], summary="Effect estimates as flat rows")
def api_estimates(
    request: Request,
    agent: str | None = None,
    setting: str | None = None,
    outcome: str | None = None,
    comparison_kind: str | None = None,
    trial: str | None = None,
    latest_only: bool = True,
    with_hr_ci: bool = False,
):
    base = base_of(request)
    filters = _filters(agent, setting, outcome, comparison_kind)
    if trial:
        _trial_or_404(base, trial)
    records = base.estimates(
        trial=trial,
        latest_only=latest_only,
        with_hr_ci=with_hr_ci,
        **{k: v for k, v in filters.items() if v},
    )
    return {
        "evidence_version": base.version,
        "count": len(records),
        "estimates": [r.to_dict() for r in records],
    }
