"""Analysis builder, built-in analyses, downloads, the living report, and the analyses API.

The builder is a plain HTML form (GET, so every analysis has a shareable URL); htmx swaps the
result in place.  The same query string drives the downloads (SVG, PNG, CSV, JSON).  Results
and plots are cached per (evidence version, spec), so a repeated request costs a dictionary
lookup.
"""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, Response

from plateau.analysis import (
    BUILTIN_GROUPS,
    AnalysisResult,
    AnalysisSpec,
    builtin_spec,
    builtin_specs,
    run_analysis,
    spec_from_dict,
)
from plateau.analysis.selection import DERIVATION_LABELS, DERIVATION_SHORT
from plateau.analysis.spec import METHODS, TESTS
from plateau.evidence.schema import AdverseEventTerm, Agent, ComparisonKind, Setting
from plateau.web.artefacts import artefacts
from plateau.web.pages import TEMPLATES, page

router = APIRouter()

OUTCOMES = [
    ("disease_control", "PFS (else EFS, else TTP)"),
    ("PFS", "PFS only"),
    ("OS", "Overall survival"),
    ("EFS", "EFS"),
    ("TTP", "TTP"),
    ("CR", "Complete response"),
    ("MRD_negativity", "MRD negativity"),
    ("adverse_event", "Adverse event"),
]
SUBGROUPS = [
    ("", "none"),
    ("setting", "setting"),
    ("agent", "agent"),
    ("age_group", "age group"),
    ("comparison_kind", "comparison kind"),
    ("randomisation_point", "randomisation point"),
    ("control_type", "control type"),
]
SENSITIVITY = [
    ("latest_only", "Latest reports only"),
    ("exclude_approximate", "No approximate HRs"),
    ("exclude_packages", "No induction + maintenance packages"),
    ("exclude_active_controls", "Observation/placebo controls only"),
    ("primary_sources_only", "Primary sources only"),
    ("exclude_mixed_population", "Exclude mixed-population trials (no estimate for the setting)"),
]
LIST_FIELDS = {"agents": "agent", "settings": "setting", "comparison_kinds": "comparison_kind"}


def spec_from_query(params) -> AnalysisSpec:
    """Build a spec from the builder's query string; errors name the field."""
    data: dict[str, Any] = {"id": "custom", "title": params.get("title") or "Custom analysis"}
    if params.get("outcome"):
        data["outcome"] = params["outcome"]
    for field, name in LIST_FIELDS.items():
        values = [v for v in params.getlist(name) if v]
        if values:
            data[field] = values
    if params.get("adverse_event"):
        data["adverse_event"] = params["adverse_event"]
    if params.get("adverse_event_grade"):
        data["adverse_event_grade"] = params["adverse_event_grade"]
    if params.get("subgroup_by"):
        data["subgroup_by"] = params["subgroup_by"]
    model = {k: params[k] for k in ("method", "test") if params.get(k)}
    if params.get("level"):
        try:
            model["level"] = float(params["level"])
        except ValueError:
            from plateau.errors import PlateauError

            raise PlateauError(f"level: {params['level']!r} is not a number") from None
    if model:
        data["model"] = model
    data["sensitivity"] = {key: params.get(key) in ("on", "true", "1") for key, _ in SENSITIVITY}
    return spec_from_dict(data, origin="analysis")


def _cache_key(spec: AnalysisSpec) -> str:
    return spec.model_dump_json()


@lru_cache(maxsize=256)
def _cached_result(base, spec_json: str) -> AnalysisResult:
    """``base`` is an EvidenceBase (hashed by identity: one cache entry per loaded base)."""
    return run_analysis(AnalysisSpec.model_validate_json(spec_json), base)


def result_for(request: Request, spec: AnalysisSpec) -> AnalysisResult:
    return _cached_result(request.app.state.evidence, _cache_key(spec))


@lru_cache(maxsize=128)
def _cached_plot(base, spec_json: str, fmt: str) -> bytes:
    from plateau.report.forest import draw_forest
    from plateau.report.plots import forest_from_result, forest_svg

    result = _cached_result(base, spec_json)
    if fmt == "svg":
        return forest_svg(result).encode("utf-8")
    import matplotlib.pyplot as plt

    fig = draw_forest(forest_from_result(result))
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=fmt, dpi=150 if fmt == "png" else None, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def plot_bytes(request: Request, spec: AnalysisSpec, fmt: str) -> bytes:
    result = result_for(request, spec)
    if not result.studies:
        from fastapi import HTTPException

        raise HTTPException(
            status_code=404, detail="no trial matches this analysis: there is no plot"
        )
    return _cached_plot(request.app.state.evidence, _cache_key(spec), fmt)


def result_csv(result: AnalysisResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "row",
            "trial_id",
            "label",
            "comparison_id",
            "outcome",
            "measure",
            "estimate",
            "ci_low",
            "ci_high",
            "weight_percent",
            "n_experimental",
            "n_control",
            "derivation",
            "approximate",
            "source",
            "evidence_version",
        ]
    )
    for s in result.studies:
        c = s.contribution
        writer.writerow(
            [
                "study",
                c.trial_id,
                c.label,
                c.comparison_id,
                c.outcome,
                c.measure,
                f"{c.estimate:.6g}",
                f"{s.ci_low:.6g}",
                f"{s.ci_high:.6g}",
                f"{s.weight_percent:.4g}",
                c.n_experimental,
                c.n_control,
                c.derivation,
                c.approximate,
                c.source.citation,
                result.evidence_version,
            ]
        )
    if result.pooled:
        p = result.pooled
        writer.writerow(
            [
                "pooled",
                "",
                f"{result.spec.model.method}/{result.spec.model.test}",
                "",
                "",
                result.measure,
                f"{p.estimate:.6g}",
                f"{p.ci_low:.6g}",
                f"{p.ci_high:.6g}",
                "100",
                "",
                "",
                "",
                "",
                "",
                result.evidence_version,
            ]
        )
    for e in result.excluded:
        writer.writerow(
            [
                "missing" if e.missing else "excluded",
                e.trial_id,
                e.trial_name,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                e.reason,
                "",
                "",
                result.evidence_version,
            ]
        )
    return buffer.getvalue()


def _builder_context(request: Request, spec: AnalysisSpec | None = None) -> dict[str, Any]:
    return dict(
        outcomes=OUTCOMES,
        subgroups=SUBGROUPS,
        sensitivity=SENSITIVITY,
        methods=METHODS,
        tests=TESTS,
        agents=[
            a.value
            for a in Agent
            if a.value
            in {
                "thalidomide",
                "lenalidomide",
                "bortezomib",
                "ixazomib",
                "daratumumab",
                "carfilzomib",
                "interferon_alpha",
                "prednisone",
                "prednisolone",
                "dexamethasone",
            }
        ],
        settings=[s.value for s in Setting],
        kinds=[k.value for k in ComparisonKind],
        ae_terms=[t.value for t in AdverseEventTerm],
        spec=spec or AnalysisSpec(),
        builtin_groups=BUILTIN_GROUPS,
        builtin=builtin_specs(),
    )


def _result_context(request: Request, spec: AnalysisSpec) -> dict[str, Any]:
    from plateau.report.plots import plot_title

    result = result_for(request, spec)
    svg = plot_bytes(request, spec, "svg").decode("utf-8") if result.studies else None
    query = request.url.query
    return dict(
        result=result,
        heading=plot_title(spec),
        forest_svg=svg,
        derivations=DERIVATION_LABELS,
        short=DERIVATION_SHORT,
        query=query,
    )


@router.get("/analyses", response_class=HTMLResponse, include_in_schema=False)
def builder(request: Request):
    params = request.query_params
    spec = spec_from_query(params) if params else None
    context = _builder_context(request, spec)
    if spec is not None:
        context.update(_result_context(request, spec))
    return page(request, "analyses.html", title="Analyses", active_nav="/analyses", **context)


@router.get("/analyses/result", response_class=HTMLResponse, include_in_schema=False)
def builder_result(request: Request):
    spec = spec_from_query(request.query_params)
    return TEMPLATES.TemplateResponse(
        request, "_analysis_result.html", _result_context(request, spec)
    )


@router.get("/analyses/builtin/{analysis_id}", response_class=HTMLResponse, include_in_schema=False)
def builtin_page(request: Request, analysis_id: str):
    spec = _builtin_or_404(analysis_id)
    context = _result_context(request, spec)
    context["query"] = f"builtin={analysis_id}"
    return page(
        request, "analysis.html", title=spec.title, active_nav="/analyses", spec=spec, **context
    )


def _spec_for_download(request: Request) -> AnalysisSpec:
    builtin = request.query_params.get("builtin")
    return _builtin_or_404(builtin) if builtin else spec_from_query(request.query_params)


@router.get("/analyses/download/forest.{fmt}", include_in_schema=False)
def download_plot(request: Request, fmt: str):
    media = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}
    if fmt not in media:
        from fastapi import HTTPException

        raise HTTPException(status_code=404, detail=f"no such format {fmt!r}; use svg, png or pdf")
    spec = _spec_for_download(request)
    return Response(
        plot_bytes(request, spec, fmt),
        media_type=media[fmt],
        headers={"Content-Disposition": f'attachment; filename="{spec.id}-forest.{fmt}"'},
    )


@router.get("/analyses/download/result.{fmt}", include_in_schema=False)
def download_result(request: Request, fmt: str):
    spec = _spec_for_download(request)
    result = result_for(request, spec)
    if fmt == "json":
        return Response(
            json.dumps(result.to_dict(), indent=1),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{spec.id}.json"'},
        )
    if fmt == "csv":
        return Response(
            result_csv(result),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{spec.id}.csv"'},
        )
    from fastapi import HTTPException

    raise HTTPException(status_code=404, detail=f"no such format {fmt!r}; use json or csv")


def _builtin_or_404(analysis_id: str) -> AnalysisSpec:
    from fastapi import HTTPException

    from plateau.errors import PlateauError

    try:
        return builtin_spec(analysis_id)
    except PlateauError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def headline_rows(request: Request) -> list[dict[str, Any]]:
    """Pooled PFS and OS per agent and setting for the home page.

    The built-in ``{agent}-{pfs|os}-{setting}`` analyses: the same answer the builder, the CLI
    (``--agent X --setting post-ASCT``), the API, the report and the decision aid give.  Rows
    with no trial in either outcome are left out.
    """
    from plateau.analysis.builtin import AGENTS_TODAY, SETTINGS_TODAY

    rows = []
    for agent in AGENTS_TODAY:
        for _setting, slug, words in SETTINGS_TODAY:
            row: dict[str, Any] = {"agent": agent.value, "setting": words, "notes": []}
            for label in ("pfs", "os"):
                spec = builtin_spec(f"{agent.value}-{label}-{slug}")
                result = result_for(request, spec)
                row[label] = result.pooled
                row[f"{label}_id"] = spec.id
                row[f"{label}_k"] = len(result.studies)
                row[f"{label}_missing"] = len(result.missing)
                row[f"{label}_published"] = [m for m in result.published if m.exact]
                row["notes"].extend(n for n in result.notes if n not in row["notes"])
            if row["pfs"] is not None or row["os"] is not None:
                rows.append(row)
    return rows


# --------------------------------------------------------------------------- living report


def _report_html(request: Request) -> str:
    """The living report, built once per evidence version (bounded artefact cache)."""
    from plateau.report.living import build_items, render_html

    base = request.app.state.evidence
    return artefacts(request.app.state).get(
        ("report.html", base.version),
        lambda: render_html(base, build_items(base), app_nav=True, pdf_href="/report.pdf"),
    )


def _report_pdf(request: Request) -> bytes:
    """The living report as PDF, built once per evidence version (never per request)."""

    def build() -> bytes:
        from weasyprint import HTML

        return HTML(string=_report_html(request)).write_pdf()

    base = request.app.state.evidence
    return artefacts(request.app.state).get(("report.pdf", base.version), build)


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
def living_report(request: Request):
    return HTMLResponse(_report_html(request))


@router.get("/report.pdf", include_in_schema=False)
def living_report_pdf(request: Request):
    pdf = _report_pdf(request)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="plateau-report.pdf"'},
    )


# --------------------------------------------------------------------------- JSON API


@router.get("/api/v1/analyses", tags=["analyses"], summary="The built-in analyses")
def api_list(request: Request):
    return {
        "evidence_version": request.app.state.evidence.version,
        "analyses": [
            {
                "id": s.id,
                "title": s.title,
                "outcome": s.outcome_label,
                "spec": s.model_dump(mode="json"),
            }
            for s in builtin_specs().values()
        ],
    }


@router.post(
    "/api/v1/analyses", tags=["analyses"], summary="Run an analysis spec; returns the result"
)
def api_run(
    request: Request,
    spec: dict = Body(
        ...,
        examples=[
            {
                "outcome": "OS",
                "agents": ["lenalidomide"],
                "settings": ["post_asct"],
                "model": {"method": "REML", "test": "knha"},
            }
        ],
    ),
):
    parsed = spec_from_dict(spec, origin="body")
    return result_for(request, parsed).to_dict()


@router.get(
    "/api/v1/analyses/{analysis_id}", tags=["analyses"], summary="Result of a built-in analysis"
)
def api_builtin(request: Request, analysis_id: str):
    return result_for(request, _builtin_or_404(analysis_id)).to_dict()


@router.get(
    "/api/v1/analyses/{analysis_id}/forest.{fmt}",
    tags=["analyses"],
    summary="Forest plot of a built-in analysis (svg, png or pdf)",
)
def api_builtin_plot(request: Request, analysis_id: str, fmt: str):
    media = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}
    if fmt not in media:
        from fastapi import HTTPException

        raise HTTPException(status_code=404, detail=f"no such format {fmt!r}; use svg, png or pdf")
    return Response(plot_bytes(request, _builtin_or_404(analysis_id), fmt), media_type=media[fmt])


# --------------------------------------------------------------------------- networks


@lru_cache(maxsize=4)
def _network_items(base):
    from plateau.report.networks import network_items

    return network_items(base)


@router.get("/networks", response_class=HTMLResponse, include_in_schema=False)
def networks_page(request: Request):
    items = _network_items(request.app.state.evidence)
    return page(
        request, "networks.html", title="Which maintenance?", active_nav="/networks", networks=items
    )


@router.get(
    "/api/v1/networks", tags=["networks"], summary="The 'which maintenance?' network meta-analyses"
)
def api_networks(request: Request):
    base = request.app.state.evidence
    return {
        "evidence_version": base.version,
        "networks": [
            {"id": n.key, "title": n.title, "ranking": list(n.ranking), **n.network.to_dict()}
            for n in _network_items(base)
        ],
    }
