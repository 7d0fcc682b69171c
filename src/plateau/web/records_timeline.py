"""The patient timeline as one server-rendered SVG (no JavaScript, no external resource).

Panels share one horizontal axis, days since the start of maintenance (day 0 = the decision):

1. serum M-protein (g/dL) with each IMWG assessment's response category written above its point;
2. serum free light chains, kappa and lambda (mg/dL);
3. maintenance dose: a bar per period at its dose, interruptions (holds) hatched, stop marked;
4. CTCAE grades: one marker per graded event or lab toxicity, height = grade;
5. QoL: EORTC QLQ-C30 global health status (0-100).

Progression (IMWG) is a red dashed line across all panels; the decision at the start of
maintenance is the line at day 0.  Every mark has a ``<title>`` for screen readers and hover.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape
from typing import Any

WIDTH = 960
LEFT = 175
RIGHT = 24
PLOT_W = WIDTH - LEFT - RIGHT
RESPONSE_COLOUR = {
    "sCR": "#0b6e2e",
    "CR": "#1a7f37",
    "VGPR": "#2f9e52",
    "PR": "#6cbf7f",
    "MR": "#b8a400",
    "SD": "#8a8a8a",
    "PD": "#b3261e",
}
GRADE_COLOUR = {1: "#9bbbd9", 2: "#e0b040", 3: "#d9641e", 4: "#b3261e", 5: "#000000"}


def _day(date: str | None, start: dt.date | None) -> int | None:
    """Days since ``start``; de-identified timelines already carry "day N"."""
    if not date:
        return None
    if date.startswith("day "):
        return int(date[4:])
    if start is None:
        return None
    try:
        return (dt.date.fromisoformat(date[:10]) - start).days
    except ValueError:
        return None


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo if hi > lo else 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out, v = [], first
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) >= 0.01 or v == 0 else f"{v:.2g}"


def timeline_svg(tl: dict, *, deidentified: bool) -> str:
    """SVG text of the timeline built by :func:`plateau.store.monitoring.timeline`."""
    m = tl.get("maintenance")
    series = tl.get("series", {})
    all_dates = [p["date"] for pts in series.values() for p in pts] + [
        d["date"] for d in tl.get("doses", [])
    ]
    start = None
    if m and not m["start"].startswith("day "):
        start = dt.date.fromisoformat(m["start"])
    elif not m and all_dates and not deidentified:
        start = dt.date.fromisoformat(min(all_dates))
    if not all_dates:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40" role="img" '
            'aria-label="No data"><text x="10" y="25">No results recorded yet.</text></svg>'
        )
    mon = tl.get("monitor") or {}
    days = [_day(d, start) for d in all_dates] + [0]
    days += [_day(c["date"], start) for c in mon.get("ctcae", [])] + [
        _day(q["date"], start) for q in tl.get("qol", [])
    ]
    known = [d for d in days if d is not None]
    d_lo, d_hi = float(min(known)), float(max(known))
    if d_hi - d_lo < 30:
        d_hi = d_lo + 30
    pad = (d_hi - d_lo) * 0.03
    d_lo, d_hi = d_lo - pad, d_hi + pad

    def x(day: Any) -> float:  # a day number (dates without one never reach the plot)
        return LEFT + (day - d_lo) / (d_hi - d_lo) * PLOT_W

    parts: list[str] = []
    frames: list[str] = []  # panel backgrounds and the shared x grid, drawn under the data
    y0 = 16
    panels: list[tuple[float, float]] = []

    def panel(title: str, height: int, subtitle: str = "") -> tuple[float, float]:
        nonlocal y0
        top = y0 + 18
        parts.append(f'<text class="pt" x="8" y="{top + 12}">{escape(title)}</text>')
        for k, line in enumerate(s for s in subtitle.split("; ") if s):
            parts.append(f'<text class="ps" x="8" y="{top + 27 + 13 * k}">{escape(line)}</text>')
        frames.append(
            f'<rect class="frame" x="{LEFT}" y="{top}" width="{PLOT_W}" height="{height}"/>'
        )
        y0 = top + height
        panels.append((top, top + height))
        return top, top + height

    def line_panel(title, unit, lines, height=150, y_max=None, labels=None):
        top, bottom = panel(title, height, unit)
        values = [p["value"] for _, pts, _ in lines for p in pts]
        hi = (
            y_max
            if y_max is not None
            else (max(values) * 1.15 if values and max(values) > 0 else 1.0)
        )
        lo = 0.0

        def y(v):
            return bottom - (v - lo) / (hi - lo) * (height - 8)

        for t in _ticks(lo, hi, 4):
            parts.append(
                f'<line class="grid" x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y(t):.1f}" '
                f'y2="{y(t):.1f}"/>'
            )
            parts.append(
                f'<text class="tick" x="{LEFT - 6}" y="{y(t) + 4:.1f}" '
                f'text-anchor="end">{_fmt(t)}</text>'
            )
        for name, pts, colour in lines:
            pts = [p for p in pts if _day(p["date"], start) is not None]
            if not pts:
                continue
            path = " ".join(
                f"{'M' if i == 0 else 'L'}{x(_day(p['date'], start)):.1f},{y(p['value']):.1f}"
                for i, p in enumerate(pts)
            )
            parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for p in pts:
                d = _day(p["date"], start)
                when = f"day {d}" if deidentified else f"{p['date']} (day {d})"
                parts.append(
                    f'<circle cx="{x(d):.1f}" cy="{y(p["value"]):.1f}" r="3.5" fill="{colour}">'
                    f"<title>{escape(name)} {_fmt(p['value'])} {escape(p['unit'])}, "
                    f"{escape(when)}</title></circle>"
                )
        if len(lines) > 1:
            lx = LEFT + 8
            for name, _pts, colour in lines:
                parts.append(
                    f'<rect x="{lx}" y="{top + 6}" width="12" height="4" fill="{colour}"/>'
                    f'<text class="tick" x="{lx + 16}" y="{top + 12}">{escape(name)}</text>'
                )
                lx += 16 + 8 * len(name) + 16
        for label_day, text, colour, value in labels or []:
            yy = y(value) - 10 if value is not None else top + 14
            parts.append(
                f'<text class="resp" x="{x(label_day):.1f}" y="{max(top + 12, yy):.1f}" '
                f'text-anchor="middle" fill="{colour}">{escape(text)}</text>'
            )
        return top, bottom

    # 1. M-protein with response categories
    resp_labels = []
    mp = {p["date"]: p["value"] for p in series.get("serum_m_protein", [])}
    for a in mon.get("assessments", []):
        d = _day(a["date"], start)
        resp = a.get("response") or ""
        if d is None or not resp:
            continue
        text = resp + ("" if a.get("confirmed") else "?")
        resp_labels.append((d, text, RESPONSE_COLOUR.get(resp, "#444"), mp.get(a["date"])))
    if series.get("serum_m_protein"):
        line_panel(
            "Serum M-protein",
            "g/dL; IMWG response above; (? = unconfirmed)",
            [("M-protein", series["serum_m_protein"], "#1f4e79")],
            labels=resp_labels,
        )
    elif resp_labels:
        top, bottom = panel("IMWG response", 40, "? = unconfirmed")
        for d, text, colour, _v in resp_labels:
            parts.append(
                f'<text class="resp" x="{x(d):.1f}" y="{top + 25}" text-anchor="middle" '
                f'fill="{colour}">'
                f"{escape(text)}</text>"
            )
    # 2. FLC
    flc = [
        (n, series[k], c)
        for n, k, c in (("kappa", "kappa_flc", "#7b3294"), ("lambda", "lambda_flc", "#e66101"))
        if series.get(k)
    ]
    if flc:
        line_panel("Free light chains", "mg/dL", flc, height=120)
    # 3. dose
    top, bottom = panel("Maintenance dose", 56, (m["agent"] if m else "no maintenance line"))
    doses = sorted(tl.get("doses", []), key=lambda d: _day(d["date"], start) or 0)
    end_day: float | None = d_hi
    if m and m.get("stop"):
        end_day = _day(m["stop"], start)
    max_dose = max([d["dose"] for d in doses if d["dose"] is not None] or [1])
    current = None
    for k, d in enumerate(doses):
        d0 = _day(d["date"], start)
        d1 = _day(doses[k + 1]["date"], start) if k + 1 < len(doses) else end_day
        if d["action"] == "stop":
            parts.append(
                f'<text class="tick" x="{x(d0):.1f}" y="{top + 50}" '
                'text-anchor="middle">stop</text>'
            )
            current = None
            continue
        if d["action"] == "hold":
            parts.append(
                f'<rect class="hold" x="{x(d0):.1f}" y="{top + 6}" '
                f'width="{max(2, x(d1) - x(d0)):.1f}" '
                f'height="{44}"><title>interrupted (hold) from day {d0} to day {d1}</title></rect>'
            )
            parts.append(f'<text class="tick" x="{x(d0) + 3:.1f}" y="{top + 30}">hold</text>')
            continue
        if d["dose"] is not None:
            current = d["dose"]
        if current is None:
            continue
        h = 8 + 36 * current / max_dose
        parts.append(
            f'<rect class="dose" x="{x(d0):.1f}" y="{bottom - 4 - h:.1f}" '
            f'width="{max(2, x(d1) - x(d0)):.1f}" '
            f'height="{h:.1f}"><title>{_fmt(current)} {escape(d["unit"])} from day '
            f"{d0}</title></rect>"
        )
        parts.append(
            f'<text class="dl" x="{x(d0) + 3:.1f}" y="{bottom - 8:.1f}">{_fmt(current)} '
            f"{escape(d['unit'])}</text>"
        )
    # 4. CTCAE
    top, bottom = panel("CTCAE v5.0 grade", 70, "marker height = grade")
    for g in (1, 2, 3, 4):
        yy = bottom - g * 15
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{yy + 4}" text-anchor="end">{g}</text>')
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{yy}" y2="{yy}"/>')
    severe: dict[tuple[int, int], list[str]] = {}
    for c in mon.get("ctcae", []):
        d = _day(c["date"], start)
        if d is None:
            continue
        g = int(c["grade"])
        yy = bottom - min(g, 4) * 15
        parts.append(
            f'<rect x="{x(d) - 4:.1f}" y="{yy - 4}" width="8" height="8" '
            f'fill="{GRADE_COLOUR.get(g, "#000")}">'
            f"<title>grade {g} {escape(c['term'].replace('_', ' '))}, day {d} "
            f"({escape(c.get('source', ''))})</title></rect>"
        )
        if g >= 3:
            severe.setdefault((d, min(g, 4)), []).append(c["term"].replace("_", " "))
    groups: list[
        list
    ] = []  # labels closer than 60 px on the same grade row are written once, joined
    for (d, g), terms in sorted(severe.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if groups and groups[-1][1] == g and x(d) - x(groups[-1][0]) < 60:
            groups[-1][2].extend(terms)
        else:
            groups.append([d, g, list(terms)])
    for d, g, terms in groups:
        yy = bottom - g * 15
        parts.append(
            f'<text class="tick" x="{x(d) + 6:.1f}" y="{yy + 4}">'
            f"{escape(', '.join(dict.fromkeys(terms)))}</text>"
        )
    # 5. QoL
    qol = [q for q in tl.get("qol", []) if q.get("QL2") is not None]
    if qol:
        line_panel(
            "Quality of life",
            "QLQ-C30 global; health status (0-100)",
            [
                (
                    "global health",
                    [{"date": q["date"], "value": q["QL2"], "unit": "points"} for q in qol],
                    "#2f7d7d",
                )
            ],
            height=90,
            y_max=100,
        )
    # shared x axis
    bottom_all = y0
    for t in _ticks(d_lo, d_hi, 8):
        frames.append(
            f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{panels[0][0]}" '
            f'y2="{bottom_all}"/>'
        )
        parts.append(
            f'<text class="tick" x="{x(t):.1f}" y="{bottom_all + 16}" '
            f'text-anchor="middle">{_fmt(t)}</text>'
        )
    parts.append(
        f'<text class="tick" x="{LEFT + PLOT_W / 2}" y="{bottom_all + 34}" text-anchor="middle">'
        "days since the start of maintenance</text>"
    )
    # decision line (day 0) and progression line
    top0 = panels[0][0]
    parts.append(
        f'<line class="decision" x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top0 - 14}" '
        f'y2="{bottom_all}"/>'
    )
    label = "decision: start of maintenance" + (" (snapshot stored)" if tl.get("decision") else "")
    parts.append(f'<text class="dec" x="{x(0) + 4:.1f}" y="{top0 - 4}">{escape(label)}</text>')
    prog = _day(mon.get("progression_date"), start)
    if prog is not None:
        parts.append(
            f'<line class="pd" x1="{x(prog):.1f}" x2="{x(prog):.1f}" y1="{top0 - 14}" '
            f'y2="{bottom_all}">'
            f"<title>progression (IMWG), day {prog}</title></line>"
        )
        parts.append(
            f'<text class="pdl" x="{x(prog) - 4:.1f}" y="{top0 - 4}" '
            f'text-anchor="end">progression, day {prog}</text>'
        )
    height = bottom_all + 44
    style = (
        "<style>.pt{font:600 13px sans-serif;fill:#1b1f23}.ps{font:11px sans-serif;fill:#4a5560}"
        ".tick{font:11px sans-serif;fill:#4a5560}.resp{font:700 12px sans-serif}.dl{font:11px "
        "sans-serif;fill:#fff}.frame{fill:#fff;stroke:#d0d7de}.grid{stroke:#eef1f4}.dose{fill:#1f4e79}.hold{fill:#f2c94c;opacity:.6}"
        ".decision{stroke:#1b1f23;stroke-width:1.5;stroke-dasharray:2 3}.dec{font:600 11px "
        "sans-serif;fill:#1b1f23}"
        ".pd{stroke:#b3261e;stroke-width:2;stroke-dasharray:6 4}.pdl{font:700 11px "
        "sans-serif;fill:#b3261e}</style>"
    )
    desc = (
        "Timeline of the patient on maintenance: disease markers, response, doses, toxicity "
        "and quality of life."
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        'role="img" '
        'aria-labelledby="tl-title"><title '
        f'id="tl-title">{escape(desc)}</title>{style}{"".join(frames)}{"".join(parts)}</svg>'
    )
