"""Set-based monitoring engine: one pass of vectorised NumPy/pandas operations over all patients.

``assess(labs, patients, events)`` sorts the long lab table by (patient, date) (a registry
extract usually is already), pivots the disease analytes to one row per patient-date, and
evaluates every IMWG, CTCAE and dose rule with array operations and grouped window functions
(running minimum, forward fill, shift) — never a Python loop over rows.  Only
:meth:`MonitorResult.to_dict` walks patients, to build JSON.

Scale: every rule is a window function over one patient's rows, so the long table is processed
in blocks of whole patients (:data:`BLOCK_ROWS` input rows each) whose per-patient summaries
and output rows are concatenated; block boundaries change nothing in the result (the regression
test ``tests/monitor/test_engine_regression.py`` pins it to the pre-block engine), only memory
traffic: each temporary array is a few MB that the allocator reuses, where whole-table
temporaries of 320 MB each had to be paged in afresh.  Dates stay int64 day numbers until the
output tables, where each distinct date is formatted once
(:func:`plateau.monitor.arrays.date_strings`); PD criteria and notes are small integer codes
turned into shared strings at the end.

Baseline (``MonitorConfig.baseline``): ``"diagnosis"`` (default) = the last disease assessment on
or before ``diagnosis_date`` (induction, transplant and maintenance are one line of therapy, so
response is measured from the pre-treatment value); ``"maintenance"`` = the last assessment on or
before the start of maintenance (patients.csv), an explicit option.  If no assessment precedes
the chosen date, or no date is given, the patient's first assessment is the baseline; every
result says which (``baseline_basis``).  Assessments are the later dates on which any disease
analyte (M-protein, FLC, IFE, marrow, lesions, plasmacytoma size) was reported.

The IMWG block is a sequence of named steps over named data: :func:`_pivot_visits` (long rows ->
:class:`_Visits`), :func:`_baseline` (:class:`_Baseline`), :func:`_assessment_values`
(:class:`_AssessmentValues`), :func:`_responses` (:class:`_Responses`), :func:`_confirm`
(:class:`_Confirmation`), then the per-patient summaries and assessment rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plateau.errors import PlateauError
from plateau.monitor import ctcae as C
from plateau.monitor import dosing as D
from plateau.monitor import imwg as I
from plateau.monitor import signal as SIG
from plateau.monitor.arrays import date_str, date_strings
from plateau.monitor.io import BadRow
from plateau.rules import dosing as DR
from plateau.rules import units as U
from plateau.rules.registry import ALL_RULES

#: None as a 0-d object array (np.where/np.select with a None branch give object arrays)
NONE = np.array(None, dtype=object)

DISEASE = tuple(a for a in U.ANALYTE_NAMES if U.ANALYTES[a].role == "disease")
GRADED = tuple(C.LAB_TERM_BY_ANALYTE)


@dataclass(frozen=True)
class MonitorConfig:
    """All thresholds in one place; defaults are the cited values."""

    baseline: str = "diagnosis"
    imwg: I.ImwgConfig = field(default_factory=I.ImwgConfig)
    dosing: D.DosingConfig = field(default_factory=D.DosingConfig)
    limits: C.ReferenceLimits = field(default_factory=C.ReferenceLimits)
    creatinine_use_baseline: bool = True

    def __post_init__(self):
        if self.baseline not in ("maintenance", "diagnosis"):
            raise PlateauError(
                f"baseline must be 'maintenance' or 'diagnosis', not {self.baseline!r}"
            )

    def to_dict(self) -> dict:
        return {
            "baseline": self.baseline,
            "imwg": self.imwg.to_dict(),
            "dosing": self.dosing.to_dict(),
            "limits": self.limits.to_dict(),
            "creatinine_use_baseline": self.creatinine_use_baseline,
        }


def _per_patient_any(pc: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(pc[mask], minlength=n) > 0 if mask.any() else np.zeros(n, dtype=bool)


@dataclass(frozen=True)
class MonitorResult:
    """Everything ``assess`` found, as tables (one row per patient / assessment / grade / action /
    alert)."""

    patients: pd.DataFrame
    assessments: pd.DataFrame
    ctcae: pd.DataFrame
    dose_actions: pd.DataFrame
    alerts: pd.DataFrame
    rules_used: pd.DataFrame  # patient_id, rule
    config: MonitorConfig
    bad_rows: tuple[BadRow, ...] = ()
    n_input_rows: int = 0

    def patient(self, patient_id: str) -> dict:
        for p in self.to_dict():
            if p["patient_id"] == str(patient_id):
                return p
        raise PlateauError(f"no patient {patient_id!r} in the result")

    def summary(self) -> str:
        lines = [
            f"plateau monitor: {len(self.patients)} patients, {self.n_input_rows} input rows, "
            f"{len(self.assessments)} disease assessments; baseline = {self.config.baseline}"
        ]
        lines.append(
            f"{'patient':<12}{'measurable':<11}{'best':<6}{'best date':<12}{'progression':<12}"
            f"{'G>=3':>5}{'actions':>8}{'alerts':>7}"
        )
        g3 = self.ctcae[self.ctcae["grade"] >= 3].groupby("patient_id").size()
        na = self.dose_actions.groupby("patient_id").size()
        nl = self.alerts.groupby("patient_id").size()
        for r in self.patients.itertuples():
            lines.append(
                f"{r.patient_id:<12}{(r.measurable_by or '-'):<11}{(r.best_response or '-'):<6}"
                f"{(r.best_response_date or '-'):<12}{(r.progression_date or '-'):<12}"
                f"{int(g3.get(r.patient_id, 0)):>5}{int(na.get(r.patient_id, 0)):>8}"
                f"{int(nl.get(r.patient_id, 0)):>7}"
            )
        if self.bad_rows:
            lines.append(f"{len(self.bad_rows)} bad input row(s) skipped:")
            lines += [f"  {b}" for b in self.bad_rows]
        return "\n".join(lines)

    def to_dict(self) -> list[dict]:
        """One JSON-ready object per patient (the ``plateau monitor assess`` output)."""

        def by_pid(df):
            return {k: v for k, v in df.groupby("patient_id", sort=False)} if len(df) else {}

        A, G, DA, AL, RU = (
            by_pid(x)
            for x in (self.assessments, self.ctcae, self.dose_actions, self.alerts, self.rules_used)
        )
        empty = pd.DataFrame()
        out = []
        for p in self.patients.to_dict("records"):
            pid = p["patient_id"]
            a = A.get(pid, empty)
            rules = [ALL_RULES[r] for r in (RU[pid]["rule"].tolist() if pid in RU else [])]
            out.append(
                {
                    "patient_id": pid,
                    "baseline_date": p["baseline_date"],
                    "baseline_basis": p["baseline_basis"],
                    "measurable_by": p["measurable_by"],
                    "assessments": [
                        {
                            "date": r["date"],
                            "response": r["response"],
                            "confirmed": bool(r["confirmed"]),
                            **(
                                {"pd_criteria": r["pd_criteria"].split("+")}
                                if r["pd_criteria"]
                                else {}
                            ),
                            **({"note": r["note"]} if r["note"] else {}),
                        }
                        for r in a.to_dict("records")
                    ],
                    "best_response": p["best_response"],
                    "best_response_date": p["best_response_date"],
                    "progression_date": p["progression_date"],
                    "ctcae": [
                        {
                            "date": r["date"],
                            "term": r["term"],
                            "grade": int(r["grade"]),
                            "source": r["source"],
                            **(
                                {"value": r["value"], "unit": r["unit"]}
                                if r["source"] == "lab"
                                else {}
                            ),
                        }
                        for r in G.get(pid, empty).to_dict("records")
                    ],
                    "dose_actions": [
                        {
                            k: (None if isinstance(v, float) and np.isnan(v) else v)
                            for k, v in r.items()
                            if k != "patient_id"
                        }
                        for r in DA.get(pid, empty).to_dict("records")
                    ],
                    "alerts": [
                        {k: v for k, v in r.items() if k != "patient_id"}
                        for r in AL.get(pid, empty).to_dict("records")
                    ],
                    "unconfirmed_rules_used": [r.to_dict() for r in rules if r.unconfirmed],
                    "endpoints": {
                        k: p[k]
                        for k in (
                            "pfs_days",
                            "pfs_event",
                            "ttp_days",
                            "duration_of_response_days",
                            "time_on_maintenance_days",
                        )
                    },
                    "citations": [r.to_dict() for r in rules if not r.unconfirmed],
                }
            )
        return out


NA_DAY = np.iinfo(np.int64).min
MAX_DAY = np.iinfo(np.int64).max
BLOCK_ROWS = 1_000_000
"""Input rows per block.  Blocks are whole patients, so every per-patient window function
gives the same answer as on the whole table; ~1 million rows keeps each temporary array at
<= 8 MB, which the allocator recycles instead of faulting fresh pages for every operation."""

_DISEASE_CODES = np.array([U.ANALYTE_CODE[a] for a in DISEASE])
_DISEASE_COL = np.full(len(U.ANALYTE_NAMES), -1, dtype=np.int64)
_DISEASE_COL[_DISEASE_CODES] = np.arange(len(DISEASE))
_IS_DISEASE = _DISEASE_COL >= 0
_IS_GRADED = np.zeros(len(U.ANALYTE_NAMES), dtype=bool)
_IS_GRADED[[U.ANALYTE_CODE[a] for a in GRADED]] = True
_TERM_OF_CODE = {U.ANALYTE_CODE[a]: C.LAB_TERM_BY_ANALYTE[a].term for a in GRADED}
_UNIT_OF_CODE = {U.ANALYTE_CODE[a]: U.ANALYTES[a].canonical_unit for a in GRADED}
_GRADED_CODES = sorted(_TERM_OF_CODE)  # term index = position of the analyte code in this list
_TERM_INDEX = np.zeros(len(U.ANALYTE_NAMES), dtype=np.int8)
_TERM_INDEX[_GRADED_CODES] = np.arange(len(_GRADED_CODES))
_CAT_NAMES = np.array(["NE", "PD", "SD", "MR", "PR", "VGPR", "CR", "sCR"], dtype=object)
_PD_CRITERIA = (
    "serum",
    "serum_high_nadir",
    "urine",
    "flc",
    "marrow",
    "lesion",
)  # order of imwg.progression_flags
_PD_CRIT_TEXT = np.array(
    [
        "+".join(c for k, c in enumerate(_PD_CRITERIA) if code >> k & 1)
        for code in range(1 << len(_PD_CRITERIA))
    ],
    dtype=object,
)
_NOTES = np.array(
    [
        "",
        "CR criteria met except marrow (not evaluable for CR)",
        "PD criteria met, not (yet) confirmed",
        "VGPR criteria met except urine M-protein not re-tested (VGPR needs urine < 100 mg/24h): "
        "reported as PR",
    ],
    dtype=object,
)


def _as_long(
    labs: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Columns of the long table as arrays (views where possible): analyte codes, dates, values,
    limits."""
    for c in ("patient_id", "date", "analyte", "value"):
        if c not in labs.columns:
            raise PlateauError(f"labs: missing column {c!r}")
    a = labs["analyte"]
    if isinstance(a.dtype, pd.CategoricalDtype) and tuple(a.cat.categories) == U.ANALYTE_NAMES:
        acode = a.cat.codes.to_numpy()
    else:
        acode = pd.Categorical(a, categories=U.ANALYTE_NAMES).codes
    if (acode < 0).any():
        bad = a[acode < 0].iloc[0]
        raise PlateauError(f"labs: unknown analyte {bad!r}; known: {', '.join(U.ANALYTE_NAMES)}")
    lln = labs["lln"].to_numpy(dtype=float) if "lln" in labs else None
    uln = labs["uln"].to_numpy(dtype=float) if "uln" in labs else None
    return acode, labs["date"].to_numpy(), labs["value"].to_numpy(dtype=float), lln, uln


def _days(d: np.ndarray) -> np.ndarray:
    """Dates as int64 day numbers (days since 1970-01-01, floor)."""
    return (
        d.astype("datetime64[D]").astype(np.int64)
        if np.issubdtype(d.dtype, np.datetime64)
        else np.asarray(d, dtype=np.int64)
    )


_date_str = date_str


def _pday(col, n, fallback=None) -> np.ndarray:
    """Patient-level dates as int days (NaT -> INT_MIN sentinel)."""
    if col is None:
        return np.full(n, np.iinfo(np.int64).min)
    v = np.asarray(col, dtype="datetime64[ns]")
    out = v.astype("datetime64[D]").astype(np.int64)
    return np.where(np.isnat(v), np.iinfo(np.int64).min, out)


def _first_sorted(group: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the first True row of each group when rows are sorted by group; -1 if none."""
    out = np.full(n_groups, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    if len(idx):
        g = group[idx]
        first = np.r_[True, g[1:] != g[:-1]]
        out[g[first]] = idx[first]
    return out


def _ffill_index(valid: np.ndarray, group_first: np.ndarray) -> np.ndarray:
    """Per row, the index of the last valid row at or before it in the same group (-1 if none).

    Rows are sorted by group; ``group_first`` is the first row index of each row's group.  This
    is ``groupby(...).ffill()`` expressed as positions.
    """
    idx = np.where(valid, np.arange(len(valid)), -1)
    np.maximum.accumulate(idx, out=idx)
    idx[idx < group_first] = -1
    return idx


def _group_prev_min_sorted(
    x: np.ndarray,
    window: np.ndarray,
    group: np.ndarray,
    group_first: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """Minimum of ``x`` over the earlier rows of the same group inside ``window`` (NaN-skipping; NaN
    if none).

    Same result as the grouped ``cummin -> ffill -> shift(1)`` of pandas.  Rows are sorted by
    ``group`` (0..G-1, ``counts`` rows each).  The running minimum runs along the rows of a
    (groups x longest group) matrix padded with +inf; NaN/outside-window rows are +inf and a
    running count of valid rows tells "no earlier value" apart from a genuine +inf.
    """
    n = len(x)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    valid = window & ~np.isnan(x)
    z = np.where(valid, x, np.inf)
    pos = np.arange(n) - group_first
    width = int(counts.max())
    if len(counts) * width <= 4 * n + 1024:
        M = np.full((len(counts), width), np.inf)
        M[group, pos] = z
        np.minimum.accumulate(M, axis=1, out=M)
        cm = M[group, pos]
    else:  # very unequal group sizes: pandas' grouped cummin (exact, slower)
        cm = pd.Series(z).groupby(group, sort=False).cummin().to_numpy()
    cnt = np.cumsum(valid)
    has_prev = np.zeros(n, dtype=bool)
    has_prev[1:] = (pos[1:] > 0) & (
        cnt[:-1] - np.where(group_first[1:] > 0, cnt[np.maximum(group_first[1:] - 1, 0)], 0) > 0
    )
    out[1:] = np.where(has_prev[1:], cm[:-1], np.nan)
    return out


def _any_by(pc: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[pc[mask]] = True
    return out


def _measurability(s0, u0, k0, l0, bm0, icfg):
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio0 = k0 / l0
    serum_meas = I.ge(s0, icfg.measurable_serum)
    urine_meas = I.ge(u0, icfg.measurable_urine)
    kappa_inv = I.gt(ratio0, icfg.flc_ratio_high)
    lambda_inv = ~I.ge(ratio0, icfg.flc_ratio_low) & ~np.isnan(ratio0)
    abnormal = kappa_inv | lambda_inv
    iflc0 = np.where(kappa_inv, k0, l0)
    dflc0 = np.where(kappa_inv, k0 - l0, l0 - k0)
    flc_ok = (
        I.ge(iflc0, icfg.measurable_flc)
        if icfg.measurable_flc_inclusive
        else I.gt(iflc0, icfg.measurable_flc)
    )
    mprot_meas = serum_meas | urine_meas
    flc_meas = ~mprot_meas & abnormal & flc_ok
    marrow_meas = ~mprot_meas & ~flc_meas & ~np.isnan(bm0)
    return dict(
        serum_meas=serum_meas,
        urine_meas=urine_meas,
        kappa_inv=kappa_inv,
        abnormal=abnormal,
        iflc0=iflc0,
        dflc0=dflc0,
        mprot_meas=mprot_meas,
        flc_meas=flc_meas,
        marrow_meas=marrow_meas,
    )


class _Blocks:
    """Per-patient results written block by block into whole-registry arrays."""

    def __init__(self, P):
        self.P = P
        self.arrays: dict[str, np.ndarray] = {}
        self.parts: dict[str, list] = {}

    def put(self, name, p0, values, fill, dtype):
        arr = self.arrays.get(name)
        if arr is None:
            arr = self.arrays[name] = np.full(self.P, fill, dtype=dtype)
        arr[p0 : p0 + len(values)] = values

    def get(self, name, fill, dtype):
        if name not in self.arrays:
            self.arrays[name] = np.full(self.P, fill, dtype=dtype)
        return self.arrays[name]

    def add(self, name, value):
        self.parts.setdefault(name, []).append(value)

    def cat(self, name, dtype=None):
        """Concatenate (and release) the per-block parts of a row-level output."""
        parts = self.parts.pop(name, [])
        if not parts:
            return np.zeros(0, dtype=dtype if dtype is not None else np.int64)
        return np.concatenate(parts)


@dataclass(frozen=True)
class _Block:
    """One block of whole patients of the long table, sorted by (patient, day).

    ``pcode`` numbers the block's patients 0..n_patients-1 (registry code = ``p0 + pcode``);
    ``key = pcode * span + (day - dmin)`` is the sort key, so ``searchsorted`` on it finds "the
    last row of patient p on or before day d".
    """

    p0: int
    n_patients: int
    pcode: np.ndarray
    day: np.ndarray
    analyte: np.ndarray
    value: np.ndarray
    lln: np.ndarray | None
    uln: np.ndarray | None
    key: np.ndarray
    span: int
    dmin: int

    @property
    def patients(self) -> slice:
        return slice(self.p0, self.p0 + self.n_patients)

    def offset(self, day: np.ndarray) -> np.ndarray:
        """Per-patient day as a key offset (-1 for NA_DAY, clipped to the block's date span)."""
        return np.clip(np.where(day == NA_DAY, -1, day - self.dmin), -1, self.span - 1)


_NO_CARRY = ("new_bone_lesion", "new_plasmacytoma")


@dataclass(frozen=True)
class _Visits:
    """The disease analytes of a block pivoted to one row per patient-date (an assessment date).

    ``values[name]`` is the analyte's value on that row (NaN if not measured); ``last[name]`` the
    index of the patient's latest row at or before it where the analyte was measured (-1 if none).
    """

    key: np.ndarray
    pcode: np.ndarray
    day: np.ndarray
    values: dict
    last: dict
    first_row: np.ndarray  # per patient
    counts: np.ndarray  # per patient
    group_first: np.ndarray  # per row: first row of its patient

    @property
    def n(self) -> int:
        return len(self.key)

    @property
    def has_rows(self) -> np.ndarray:
        return self.counts > 0

    def latest(self, name: str, max_age: int | None = None) -> np.ndarray:
        """Last measured value at or before each row (forward fill), at most ``max_age`` days
        old."""
        i = self.last[name]
        ok = i >= 0
        if max_age is not None:
            ok &= self.day - self.day[np.maximum(i, 0)] <= max_age
        return np.where(ok, self.values[name][i], np.nan)

    def at_rows(self, per_row: np.ndarray, rows: np.ndarray, has: np.ndarray, fill):
        """``per_row[rows]`` where ``has`` (and the block has rows), else ``fill``."""
        return np.where(has, per_row[np.maximum(rows, 0)] if self.n else fill, fill)


def _pivot_visits(b: _Block) -> _Visits:
    """Long disease rows -> one row per patient-date with a column per disease analyte."""
    is_d = _IS_DISEASE[b.analyte]
    kd = b.key[is_d]
    new = np.r_[True, kd[1:] != kd[:-1]] if len(kd) else np.zeros(0, dtype=bool)
    row_of = np.cumsum(new) - 1
    R = int(new.sum())
    rkey = kd[new]
    row_pc = rkey // b.span
    ND = len(DISEASE)
    wide: np.ndarray = np.full(ND * R, np.nan)
    wide[_DISEASE_COL[b.analyte[is_d]] * R + row_of] = b.value[is_d]
    wide = wide.reshape(ND, R)
    values = {name: wide[i] for i, name in enumerate(DISEASE)}
    first_row = np.searchsorted(row_pc, np.arange(b.n_patients), "left")
    end_row = np.searchsorted(row_pc, np.arange(b.n_patients), "right")
    gfirst = first_row[row_pc]
    last = {
        name: _ffill_index(~np.isnan(values[name]), gfirst)
        for name in DISEASE
        if name not in _NO_CARRY
    }
    return _Visits(
        key=rkey,
        pcode=row_pc,
        day=rkey % b.span + b.dmin,
        values=values,
        last=last,
        first_row=first_row,
        counts=end_row - first_row,
        group_first=gfirst,
    )


@dataclass(frozen=True)
class _Baseline:
    """Per patient of a block: the baseline row, its date and the disease values carried to it."""

    row: np.ndarray
    day: np.ndarray
    serum: np.ndarray
    urine: np.ndarray
    kappa: np.ndarray
    lam: np.ndarray
    marrow: np.ndarray
    spd: np.ndarray  # plasmacytoma size (sum of the products of the diameters)


def _baseline(b: _Block, v: _Visits, baseline_date: np.ndarray) -> _Baseline:
    """Baseline = the last assessment on or before ``baseline_date`` (else the first assessment)."""
    no_bdate = baseline_date == NA_DAY
    base_row = (
        np.searchsorted(v.key, np.arange(b.n_patients) * b.span + b.offset(baseline_date), "right")
        - 1
    )
    base_row = np.where((base_row < v.first_row) | no_bdate, v.first_row, base_row)
    base_row = np.where(v.has_rows, base_row, 0)
    day = np.where(
        v.has_rows, v.day[np.minimum(base_row, max(v.n - 1, 0))] if v.n else NA_DAY, NA_DAY
    )

    def carried(name):
        return np.where(v.has_rows, v.latest(name)[base_row] if v.n else np.nan, np.nan)

    return _Baseline(
        row=base_row,
        day=day,
        serum=carried("serum_m_protein"),
        urine=carried("urine_m_protein"),
        kappa=carried("kappa_flc"),
        lam=carried("lambda_flc"),
        marrow=carried("bm_plasma_cells"),
        spd=carried("plasmacytoma_spd"),
    )


@dataclass(frozen=True)
class _AssessmentValues:
    """Per assessment row: the values the IMWG rules compare (raw, or carried forward where
    allowed)."""

    serum: np.ndarray  # raw
    urine: np.ndarray  # raw
    urine_cf: np.ndarray  # carried forward up to carry_forward_days
    dflc: np.ndarray  # involved - uninvolved, raw
    ratio_normal: np.ndarray  # 1/0/NaN from the carried FLC ratio
    serum_ife: np.ndarray
    urine_ife: np.ndarray
    marrow: np.ndarray  # raw
    marrow_cf: np.ndarray  # carried indefinitely
    clonal: np.ndarray  # carried indefinitely
    lesion: np.ndarray
    spd: np.ndarray  # plasmacytoma size, raw
    spd_cf: np.ndarray  # carried indefinitely (imaging is not repeated at every visit)


def _assessment_values(v: _Visits, kappa_involved_row: np.ndarray, icfg) -> _AssessmentValues:
    cf_days = icfg.carry_forward_days
    k_raw, l_raw = v.values["kappa_flc"], v.values["lambda_flc"]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_cf = v.latest("kappa_flc", cf_days) / v.latest("lambda_flc", cf_days)
    ratio_normal = np.where(
        np.isnan(ratio_cf),
        np.nan,
        (I.ge(ratio_cf, icfg.flc_ratio_low) & ~I.gt(ratio_cf, icfg.flc_ratio_high)).astype(float),
    )
    return _AssessmentValues(
        serum=v.values["serum_m_protein"],
        urine=v.values["urine_m_protein"],
        urine_cf=v.latest("urine_m_protein", cf_days),
        dflc=np.where(kappa_involved_row, k_raw - l_raw, l_raw - k_raw),
        ratio_normal=ratio_normal,
        serum_ife=v.latest("serum_ife", cf_days),
        urine_ife=v.latest("urine_ife", cf_days),
        marrow=v.values["bm_plasma_cells"],
        marrow_cf=v.latest("bm_plasma_cells"),
        clonal=v.latest("bm_clonal_cells"),
        lesion=np.fmax(v.values["new_bone_lesion"], v.values["new_plasmacytoma"]),
        spd=v.values["plasmacytoma_spd"],
        spd_cf=v.latest("plasmacytoma_spd"),
    )


@dataclass(frozen=True)
class _RowMeasurable:
    """The patient's baseline measurability broadcast to each assessment row."""

    serum: np.ndarray
    urine: np.ndarray
    flc: np.ndarray
    marrow: np.ndarray

    @property
    def any(self) -> np.ndarray:
        return self.serum | self.urine | self.flc | self.marrow


def _row_measurable(M: dict, v: _Visits) -> _RowMeasurable:
    rp = v.pcode
    return _RowMeasurable(
        *(
            M[x][rp] if v.n else np.zeros(0, bool)
            for x in ("serum_meas", "urine_meas", "flc_meas", "marrow_meas")
        )
    )


@dataclass(frozen=True)
class _Responses:
    """Per assessment row: response depth (NE/PD..sCR), PD criteria, evaluability."""

    depth: np.ndarray
    pd_flags: dict
    pd_any: np.ndarray
    evaluable: np.ndarray
    assess_row: np.ndarray
    cr_blocked: np.ndarray  # CR core met but marrow missing
    nadir_serum: np.ndarray
    vgpr_no_urine: np.ndarray  # VGPR met but no urine study shows urine < 100 mg/24h
    lesion: np.ndarray  # new lesion reported at or before the row, after the baseline
    plasmacytoma_grown: np.ndarray  # SPD >= 50% above its nadir


def _responses(
    v: _Visits, base: _Baseline, M: dict, meas: _RowMeasurable, x: _AssessmentValues, icfg
) -> _Responses:
    """IMWG response depth and PD criteria of every assessment after the baseline."""
    rp = v.pcode
    bday_r = base.day[rp] if v.n else np.zeros(0, np.int64)
    window = v.day >= bday_r
    assess_row = v.day > bday_r

    def nadir(values):
        return _group_prev_min_sorted(values, window, rp, v.group_first, v.counts)

    ns, nu, ndf, nbm = nadir(x.serum), nadir(x.urine), nadir(x.dflc), nadir(x.marrow)
    nspd = nadir(x.spd)
    # a plasmacytoma growing >= 50% above its nadir is a lesion criterion (imwg-pd-plasmacytoma)
    grown = (nspd > 0) & I.ge(x.spd - nspd, icfg.plasmacytoma_pd_increase * nspd)
    lesion = np.where(
        assess_row & ((x.lesion == 1) | grown), 1.0, np.where(assess_row, x.lesion, np.nan)
    )
    if (
        icfg.carry_lesions
    ):  # a reported new lesion stays until re-imaging (rule imwg-lesion-carried)
        seen = _ffill_index(assess_row & (x.lesion == 1), v.group_first)
        lesion = np.where(seen >= 0, 1.0, lesion)
    depth_r, blocked, no_urine = I.classify(
        serum_meas=meas.serum,
        urine_meas=meas.urine,
        flc_meas=meas.flc,
        marrow_meas=meas.marrow,
        s=x.serum,
        s0=base.serum[rp],
        u=x.urine_cf,
        u0=base.urine[rp],
        dflc=x.dflc,
        dflc0=M["dflc0"][rp],
        ratio_normal=x.ratio_normal,
        sife=x.serum_ife,
        uife=x.urine_ife,
        bm=x.marrow_cf,
        bm0=base.marrow[rp],
        clonal=x.clonal,
        cfg=icfg,
        spd=x.spd_cf,
        spd0=base.spd[rp],
    )
    pdf = I.progression_flags(
        s=x.serum,
        ns=ns,
        u=x.urine,
        nu=nu,
        dflc=x.dflc,
        ndflc=ndf,
        bm=x.marrow,
        nbm=nbm,
        lesion=lesion,
        flc_path=meas.flc,
        marrow_path=meas.marrow,
        cfg=icfg,
    )
    if tuple(pdf) != _PD_CRITERIA:  # the bit codes below follow this order
        raise RuntimeError(f"imwg.progression_flags keys changed: {tuple(pdf)}")
    pd_any = np.zeros(v.n, dtype=bool)
    for flag in pdf.values():
        pd_any |= flag
    pd_any &= assess_row
    driving = np.select(
        [meas.serum, meas.urine, meas.flc, meas.marrow],
        [~np.isnan(x.serum), ~np.isnan(x.urine), ~np.isnan(x.dflc), ~np.isnan(x.marrow)],
        False,
    )
    evaluable = assess_row & ((meas.any & driving) | pd_any)
    depth = np.where(pd_any, I.PD, depth_r)
    depth = np.where(evaluable, depth, I.NE).astype(np.int8)
    no_urine = no_urine & evaluable & (depth == I.PR)
    return _Responses(
        depth, pdf, pd_any, evaluable, assess_row, blocked, ns, no_urine, lesion, grown & assess_row
    )


@dataclass(frozen=True)
class _Confirmation:
    """Evaluable assessments (``idx`` into the visit rows) and what confirms what."""

    idx: np.ndarray  # visit rows of the evaluable assessments
    pcode: np.ndarray
    depth: np.ndarray
    next_depth: np.ndarray  # depth of the patient's next evaluable assessment (-2 if none)
    conf_depth: np.ndarray  # depth confirmed by the next assessment (-1 if none)
    confirmed: np.ndarray
    pd_confirmed: np.ndarray
    prog_row: np.ndarray  # per patient: visit row of the progression (-1 if none)
    prog_day: np.ndarray  # per patient
    before_prog: np.ndarray
    best: np.ndarray  # per patient
    best_row: np.ndarray  # per patient
    unconf_row: np.ndarray  # per patient: first unconfirmed PD (no progression)
    marrow_only: np.ndarray  # evaluable rows whose response needs no confirmation (marrow)


def _confirm(
    v: _Visits, r: _Responses, meas: _RowMeasurable, n_patients: int, icfg
) -> _Confirmation:
    """Confirmation by the next assessment, progression date, best confirmed response."""
    ev_idx = np.flatnonzero(r.evaluable)
    pc_e, d_e = v.pcode[ev_idx], r.depth[ev_idx]
    same_next = np.r_[pc_e[1:] == pc_e[:-1], False] if len(pc_e) else np.zeros(0, bool)
    next_d = np.where(same_next, np.r_[d_e[1:], -2] if len(d_e) else d_e, -2)
    same_prev = np.r_[False, pc_e[1:] == pc_e[:-1]] if len(pc_e) else np.zeros(0, bool)
    prev_d = np.where(same_prev, np.r_[-2, d_e[:-1]] if len(d_e) else d_e, -2)
    pd_e = d_e == I.PD
    pd_conf = pd_e & (next_d == I.PD) if icfg.confirm_pd else pd_e
    prog_e = _first_sorted(pc_e, pd_conf, n_patients)
    prog_row = np.where(prog_e >= 0, ev_idx[np.maximum(prog_e, 0)] if len(ev_idx) else -1, -1)
    prog_day = v.at_rows(v.day, prog_row, prog_row >= 0, NA_DAY)
    before_prog = (
        np.where(prog_day[pc_e] == NA_DAY, True, v.day[ev_idx] < prog_day[pc_e])
        if len(pc_e)
        else np.zeros(0, bool)
    )
    conf_depth = np.where(next_d >= 0, np.minimum(d_e, next_d), -1)
    # marrow results need no confirmation (rule imwg-marrow-no-confirmation)
    marrow_only = meas.marrow[ev_idx] & (d_e >= I.MR) & (not icfg.marrow_needs_confirmation)
    conf_depth = np.where(marrow_only, d_e, conf_depth)
    row_best = np.where(d_e >= I.SD, np.maximum(I.SD, conf_depth), -1)
    row_best = np.where(before_prog & meas.any[ev_idx], row_best, -1)
    best = np.full(n_patients, -1, dtype=np.int64)
    if len(pc_e):
        np.maximum.at(best, pc_e, row_best)
    best = np.where((best < I.SD) & (prog_row >= 0), I.PD, best)
    best_first = (
        _first_sorted(pc_e, (row_best == best[pc_e]) & (row_best >= I.SD), n_patients)
        if len(pc_e)
        else np.full(n_patients, -1)
    )
    best_row = np.where(
        best == I.PD,
        prog_row,
        np.where(best_first >= 0, ev_idx[np.maximum(best_first, 0)] if len(ev_idx) else -1, -1),
    )
    confirmed_e = np.where(
        d_e == I.PD,
        pd_conf | (pd_e & (prev_d == I.PD)),
        np.where(d_e >= I.MR, (next_d >= d_e) | marrow_only, d_e == I.SD),
    )
    pd_unconf_e = pd_e & ~confirmed_e
    unconf_first = _first_sorted(pc_e, pd_unconf_e & (prog_day[pc_e] == NA_DAY), n_patients)
    unconf_row = np.where(
        unconf_first >= 0, ev_idx[np.maximum(unconf_first, 0)] if len(ev_idx) else -1, -1
    )
    return _Confirmation(
        idx=ev_idx,
        pcode=pc_e,
        depth=d_e,
        next_depth=next_d,
        conf_depth=conf_depth,
        confirmed=confirmed_e,
        pd_confirmed=pd_conf,
        prog_row=prog_row,
        prog_day=prog_day,
        before_prog=before_prog,
        best=best,
        best_row=best_row,
        unconf_row=unconf_row,
        marrow_only=marrow_only,
    )


def _first_day(v: _Visits, c: _Confirmation, mask_e: np.ndarray, n_patients: int) -> np.ndarray:
    """Per patient, the date of the first evaluable assessment where ``mask_e`` holds (NA_DAY if
    none)."""
    first = _first_sorted(c.pcode, mask_e, n_patients)
    return np.where(
        first >= 0, v.day[c.idx[np.maximum(first, 0)]] if len(c.idx) else NA_DAY, NA_DAY
    )


def _disease_block(out: _Blocks, b: _Block, baseline_date: np.ndarray, cfg: MonitorConfig):
    """IMWG for one block of patients: pivot, baseline, response, confirmation, progression.

    Writes the per-patient summaries and assessment rows into ``out``; returns the baseline days.
    """
    icfg = cfg.imwg
    p0, Pb = b.p0, b.n_patients
    v = _pivot_visits(b)
    base = _baseline(b, v, baseline_date)
    for name, val, fill, dtype in (
        ("has_rows", v.has_rows, False, bool),
        ("baseline_day", base.day, NA_DAY, np.int64),
        ("s0", base.serum, np.nan, float),
        ("u0", base.urine, np.nan, float),
        ("k0", base.kappa, np.nan, float),
        ("l0", base.lam, np.nan, float),
        ("bm0", base.marrow, np.nan, float),
    ):
        out.put(name, p0, val, fill, dtype)
    M = _measurability(base.serum, base.urine, base.kappa, base.lam, base.marrow, icfg)
    rp = v.pcode
    kappa_inv_row = M["kappa_inv"][rp] if v.n else np.zeros(0, bool)
    x = _assessment_values(v, kappa_inv_row, icfg)
    meas = _row_measurable(M, v)
    r = _responses(v, base, M, meas, x, icfg)
    c = _confirm(v, r, meas, Pb, icfg)
    _put_disease_rule_flags(out, p0, Pb, v, r, c, x, meas, icfg)
    _put_disease_summaries(out, p0, Pb, v, r, c, x, icfg)
    _add_assessment_rows(out, p0, v, r, c)
    return base.day


def _put_disease_rule_flags(out, p0, Pb, v, r, c, x, meas, icfg) -> None:
    """Per-patient flags of the IMWG rules that fired (``assess`` turns them into rules_used)."""
    rp = v.pcode
    for code in I.DEPTH_RULE:
        out.put(f"depth_seen_{code}", p0, _any_by(c.pcode, c.depth == code, Pb), False, bool)
    conf_rows = np.zeros(v.n, dtype=bool)
    conf_rows[c.idx[(c.depth == I.PD) & c.confirmed]] = True
    for crit, flag in r.pd_flags.items():
        out.put(f"pd_rule_{crit}", p0, _any_by(rp, flag & conf_rows, Pb), False, bool)
    out.put("pd_any", p0, _any_by(rp, r.pd_any, Pb), False, bool)
    out.put("downgrade", p0, _any_by(rp, r.cr_blocked & r.evaluable, Pb), False, bool)
    out.put(
        "high_nadir_ref",
        p0,
        _any_by(rp, r.pd_flags["serum_high_nadir"] & conf_rows, Pb),
        False,
        bool,
    )
    ds = x.serum - r.nadir_serum
    out.put(
        "serum_operator",
        p0,
        _any_by(rp, r.pd_flags["serum"] & conf_rows & (np.abs(ds - icfg.pd_serum_abs) < 1e-9), Pb),
        False,
        bool,
    )
    used_cf = r.evaluable & (
        (np.isnan(x.urine) & ~np.isnan(x.urine_cf))
        | (np.isnan(v.values["serum_ife"]) & ~np.isnan(x.serum_ife))
        | (np.isnan(x.marrow) & ~np.isnan(x.marrow_cf))
    )
    out.put("missing_secondary", p0, _any_by(rp, used_cf, Pb), False, bool)
    if icfg.flc_vgpr:
        out.put("vgpr_flc_only", p0, _any_by(rp, meas.flc & (r.depth == I.VGPR), Pb), False, bool)
    out.put("vgpr_no_urine", p0, _any_by(rp, r.vgpr_no_urine, Pb), False, bool)
    out.put("spd_pd", p0, _any_by(rp, r.plasmacytoma_grown & r.evaluable, Pb), False, bool)
    out.put("spd_base", p0, _any_by(rp, ~np.isnan(x.spd), Pb), False, bool)
    out.put("marrow_no_confirm", p0, _any_by(c.pcode, c.marrow_only, Pb), False, bool)
    carried = r.assess_row & (r.lesion == 1) & (x.lesion != 1)
    out.put("lesion_carried", p0, _any_by(rp, carried & r.evaluable, Pb), False, bool)
    first_lesion = _first_sorted(rp, r.assess_row & (x.lesion == 1), Pb)
    out.put(
        "lesion_day",
        p0,
        v.at_rows(v.day, first_lesion, first_lesion >= 0, NA_DAY),
        NA_DAY,
        np.int64,
    )


def _pd_criteria_code(r: _Responses) -> np.ndarray:
    """Per row, the PD criteria met as bits in the order of :data:`_PD_CRITERIA`."""
    code = np.zeros(len(r.pd_any), dtype=np.int64)
    for k, flag in enumerate(r.pd_flags.values()):
        code |= (flag & r.pd_any).astype(np.int64) << k
    return code


def _put_disease_summaries(out, p0, Pb, v, r, c, x, icfg) -> None:
    """Per patient: progression, best response, relapse from CR, endpoint dates."""
    rp = v.pcode
    # relapse from CR (not PD): after the first confirmed CR, IFE turns positive or marrow >= 5%
    cr_day = _first_day(v, c, c.conf_depth >= I.CR, Pb)
    relapse_mask = (
        r.assess_row
        & (cr_day[rp] != NA_DAY)
        & (v.day > cr_day[rp])
        & (
            (v.values["serum_ife"] == 1)
            | (v.values["urine_ife"] == 1)
            | (x.marrow >= icfg.cr_marrow_below)
        )
    )
    relapse_row = _first_sorted(rp, relapse_mask, Pb)
    last_ev = np.full(Pb, NA_DAY)
    if len(c.pcode):
        np.maximum.at(last_ev, c.pcode, v.day[c.idx])
    resp_day = _first_day(v, c, (c.conf_depth >= I.PR) & c.before_prog, Pb)

    def rday(rows):
        return v.at_rows(v.day, rows, rows >= 0, NA_DAY)

    for name, val in (
        ("prog_day", c.prog_day),
        ("best_day_raw", rday(c.best_row)),
        ("unconf_day", rday(c.unconf_row)),
        ("relapse_day", rday(relapse_row)),
        ("last_ev", last_ev),
        ("resp_day", resp_day),
    ):
        out.put(name, p0, val, NA_DAY, np.int64)
    out.put("best", p0, c.best, -1, np.int64)
    out.put("has_best_row", p0, c.best_row >= 0, False, bool)
    crit = _pd_criteria_code(r)
    out.put("prog_crit", p0, v.at_rows(crit, c.prog_row, c.prog_row >= 0, 0), 0, np.int64)


def _add_assessment_rows(out, p0, v, r, c) -> None:
    """The assessment table rows of the block (every disease assessment after the baseline)."""
    keep = np.flatnonzero(r.assess_row)
    confirmed_r = np.zeros(v.n, dtype=bool)
    confirmed_r[c.idx] = c.confirmed
    note = np.where(
        r.evaluable & (r.depth == I.PD) & ~confirmed_r,
        2,
        np.where(
            r.cr_blocked & r.evaluable & (r.depth < I.CR) & (r.depth != I.PD),
            1,
            np.where(r.vgpr_no_urine, 3, 0),
        ),
    )
    out.add("a_pc", (v.pcode[keep] + p0).astype(np.int32))
    out.add("a_day", v.day[keep].astype(np.int32))
    out.add("a_depth", r.depth[keep])
    out.add("a_confirmed", confirmed_r[keep])
    out.add("a_crit", _pd_criteria_code(r)[keep])
    out.add("a_note", note[keep].astype(np.int8))


def _ctcae_block(out: _Blocks, b: _Block, baseline_day, pat, cfg):
    """CTCAE v5.0 grades of the lab rows of one block of patients; creatinine clearance at
    maintenance start."""
    p0, Pb, pc, day, acode, value = b.p0, b.n_patients, b.pcode, b.day, b.analyte, b.value
    lln, uln, key, span, dmin = b.lln, b.uln, b.key, b.span, b.dmin
    g_idx = np.flatnonzero(_IS_GRADED[acode])
    g_pc, g_day, g_a, g_v = pc[g_idx], day[g_idx], acode[g_idx], value[g_idx]
    g_lln = lln[g_idx] if lln is not None else None
    g_uln = uln[g_idx] if uln is not None else None
    grade = np.zeros(len(g_v), dtype=np.int8)
    used_default = np.zeros(len(g_v), dtype=bool)
    creat_base_raised = np.zeros(len(g_v), dtype=bool)
    crcl_start = np.full(Pb, np.nan)
    start = pat["start"][p0 : p0 + Pb]
    for name in GRADED:
        m = g_a == U.ANALYTE_CODE[name]
        if not m.any():
            continue
        if name == "creatinine":
            cpc, cday, cv = g_pc[m], g_day[m], g_v[m]
            ckey = key[g_idx[m]]
            # baseline creatinine: last value on/before the baseline day, else the first value
            first_c = np.searchsorted(cpc, np.arange(Pb), "left")
            has_c = np.searchsorted(cpc, np.arange(Pb), "right") > first_c
            boff = np.clip(np.where(baseline_day == NA_DAY, -1, baseline_day - dmin), -1, span - 1)
            bi = np.searchsorted(ckey, np.arange(Pb) * span + boff, "right") - 1
            bi = np.where(bi < first_c, first_c, bi)
            cbase = np.where(has_c, cv[np.minimum(bi, len(cv) - 1)], np.nan)
            cu = g_uln[m] if g_uln is not None else np.full(len(cv), np.nan)
            u_ = np.where(np.isnan(cu), cfg.limits.creatinine_uln, cu)
            gr = C.grade_creatinine(cv, u_, cbase[cpc], cfg.creatinine_use_baseline)
            creat_base_raised[m] = gr > C.grade_creatinine(cv, u_, None, False)
            used_default[m] = np.isnan(cu) & (gr > 0)
            grade[m] = gr
            # creatinine clearance at maintenance start (for renal dose rules)
            soff = np.clip(np.where(start == NA_DAY, -1, start - dmin), -1, span - 1)
            si = np.searchsorted(ckey, np.arange(Pb) * span + soff, "right") - 1
            si = np.where(si < first_c, first_c, si)
            cstart = np.where(has_c, cv[np.minimum(si, len(cv) - 1)], np.nan)
            age, weight = pat["age"][p0 : p0 + Pb], pat["weight"][p0 : p0 + Pb]
            ok = (
                ~np.isnan(age)
                & ~np.isnan(weight)
                & pat["sex_known"][p0 : p0 + Pb]
                & ~np.isnan(cstart)
                & (cstart > 0)
            )
            crcl_start[ok] = D.cockcroft_gault(
                age[ok], weight[ok], cstart[ok], pat["female"][p0 : p0 + Pb][ok]
            )
            _renal_course(out, b, cpc, cday, cv, si, has_c, crcl_start, pat, cfg)
        elif C.LAB_TERM_BY_ANALYTE[name].direction == "high":
            cu = g_uln[m] if g_uln is not None else np.full(int(m.sum()), np.nan)
            hi = np.where(np.isnan(cu), cfg.limits.default_for(name), cu)
            gr = C.grade_high(g_v[m], C.LAB_TERM_BY_ANALYTE[name].cutoffs, hi)
            used_default[m] = np.isnan(cu) & (gr == 1)
            grade[m] = gr
        else:
            cl = g_lln[m] if g_lln is not None else np.full(int(m.sum()), np.nan)
            lo = np.where(np.isnan(cl), cfg.limits.default_for(name), cl)
            gr = C.grade_low(g_v[m], C.LAB_TERM_BY_ANALYTE[name].cutoffs, lo)
            used_default[m] = np.isnan(cl) & (gr == 1)
            grade[m] = gr
    out.put("crcl_start", p0, crcl_start, np.nan, float)
    _crab_block(out, b, g_idx, baseline_day, pat, cfg)
    gm = grade > 0
    out.put("default_limits", p0, _any_by(g_pc, used_default, Pb), False, bool)
    out.put("creat_base", p0, _any_by(g_pc, creat_base_raised, Pb), False, bool)
    for name in GRADED:
        out.put(
            f"term_{name}", p0, _any_by(g_pc, gm & (g_a == U.ANALYTE_CODE[name]), Pb), False, bool
        )
    heme3 = _first_sorted(g_pc, (grade >= 3) & (g_a != U.ANALYTE_CODE["creatinine"]), Pb)
    out.put(
        "heme_tox_day",
        p0,
        np.where(heme3 >= 0, g_day[np.maximum(heme3, 0)] if len(g_day) else MAX_DAY, MAX_DAY),
        MAX_DAY,
        np.int64,
    )
    # first grade >= 3 lab toxicity per patient (rows are in date order)
    first3 = _first_sorted(g_pc, grade >= 3, Pb)
    out.put(
        "lab_tox_day",
        p0,
        np.where(first3 >= 0, g_day[np.maximum(first3, 0)] if len(g_day) else MAX_DAY, MAX_DAY),
        MAX_DAY,
        np.int64,
    )
    sel = np.flatnonzero(gm)
    out.add("g_pc", (g_pc[sel] + p0).astype(np.int32))
    out.add("g_day", g_day[sel].astype(np.int32))
    out.add("g_term", _TERM_INDEX[g_a[sel]])
    out.add("g_grade", grade[sel])
    out.add("g_value", g_v[sel])


_CRAB = (
    # (analyte, kind, config field): "level" = value >= threshold; "rise"/"fall" = change from
    # the value at maintenance start >= threshold
    ("calcium", "level", "crab_calcium"),
    ("creatinine", "rise", "crab_creatinine_rise"),
    ("hemoglobin", "fall", "crab_hb_fall"),
)


def _crab_block(out, b: _Block, g_idx, baseline_day, pat, cfg) -> None:
    """IMWG clinical relapse (CRAB) laboratory indicators, first date per patient and criterion.

    Reference of the rise/fall criteria: the value at maintenance start (last on or before it,
    else the first value), or at the IMWG baseline when no start is given (rule
    ``imwg-crab-reference``); only values after the reference value's date count.
    Hypercalcaemia is a fixed level that needs no reference value: every calcium after the
    maintenance start (or the baseline; every calcium if neither is known) counts, including
    a patient's first calcium.
    """
    from plateau.monitor.ctcae import lt

    icfg = cfg.imwg
    Pb = b.n_patients
    ref_day = np.where(pat["start"][b.patients] != NA_DAY, pat["start"][b.patients], baseline_day)
    for analyte, kind, field_name in _CRAB:
        thr = getattr(icfg, field_name)
        m = g_idx[b.analyte[g_idx] == U.ANALYTE_CODE[analyte]]
        first = np.full(Pb, NA_DAY)
        val = np.full(Pb, np.nan)
        ref = np.full(Pb, np.nan)
        if len(m):
            pc, day, v, key = b.pcode[m], b.day[m], b.value[m], b.key[m]
            first_c = np.searchsorted(pc, np.arange(Pb), "left")
            has = np.searchsorted(pc, np.arange(Pb), "right") > first_c
            ri = np.searchsorted(key, np.arange(Pb) * b.span + b.offset(ref_day), "right") - 1
            ri = np.where(ri < first_c, first_c, ri)
            ref = np.where(has, v[np.minimum(ri, len(v) - 1)], np.nan)
            ref_d = np.where(has, day[np.minimum(ri, len(v) - 1)], NA_DAY)
            after = day > ref_d[pc]
            if kind == "level":  # no reference value: any value after the reference day
                rd = ref_day[pc]
                hit = ((rd == NA_DAY) | (day > rd)) & ~lt(v, thr)
            elif kind == "rise":
                hit = after & ~lt(v - ref[pc], thr)
            else:
                hit = after & ~lt(ref[pc] - v, thr)
            hit &= ~np.isnan(v) & (~np.isnan(ref[pc]) | (kind == "level"))
            f = _first_sorted(pc, hit, Pb)
            first = np.where(f >= 0, day[np.maximum(f, 0)], NA_DAY)
            val = np.where(f >= 0, v[np.maximum(f, 0)], np.nan)
        out.put(f"crab_{analyte}_day", b.p0, first, NA_DAY, np.int64)
        out.put(f"crab_{analyte}_value", b.p0, val, np.nan, float)
        out.put(f"crab_{analyte}_ref", b.p0, ref, np.nan, float)


def _crab_alerts(A, P, agent_known) -> tuple[list, np.ndarray]:
    """Alert rows of possible clinical relapse (CRAB), one per patient and criterion."""
    parts = []
    any_hit = np.zeros(P, dtype=bool)
    texts = {
        "calcium": lambda v, r: f"calcium {v:g} mg/dL (>= 11.5; corrected calcium expected)",
        "creatinine": lambda v, r: (
            f"creatinine {v:g} mg/dL, a rise of {v - r:.2f} from {r:g} "
            "at maintenance start (>= 2 mg/dL)"
        ),
        "hemoglobin": lambda v, r: (
            f"haemoglobin {v:g} g/dL, a fall of {r - v:.1f} from {r:g} "
            "at maintenance start (>= 2 g/dL)"
        ),
    }
    for analyte, _, _ in _CRAB:
        day = A(f"crab_{analyte}_day", NA_DAY, np.int64)
        idx = np.flatnonzero(day != NA_DAY)
        if not len(idx):
            continue
        val = A(f"crab_{analyte}_value", np.nan, float)[idx]
        ref = A(f"crab_{analyte}_ref", np.nan, float)[idx]
        parts.append(
            pd.DataFrame(
                {
                    "pcode": idx,
                    "day": day[idx],
                    "severity": "high",
                    "message": [
                        "possible clinical relapse (IMWG CRAB) on "
                        + str(_date_str([d])[0])
                        + ": "
                        + texts[analyte](float(v), float(r))
                        + "; whether it is due to myeloma is a clinical judgement"
                        for d, v, r in zip(day[idx], val, ref, strict=True)
                    ],
                    "rule": "imwg-clinical-relapse",
                }
            )
        )
        any_hit[idx] = True
    lesion_day = A("lesion_day", NA_DAY, np.int64)
    idx = np.flatnonzero(lesion_day != NA_DAY)
    if len(idx):
        parts.append(
            pd.DataFrame(
                {
                    "pcode": idx,
                    "day": lesion_day[idx],
                    "severity": "high",
                    "message": [
                        "new bone lesion or soft-tissue plasmacytoma reported on "
                        + str(_date_str([d])[0])
                        + ": clinical relapse (IMWG CRAB) and a progression criterion"
                        for d in lesion_day[idx]
                    ],
                    "rule": "imwg-clinical-relapse",
                }
            )
        )
        any_hit[idx] = True
    return parts, any_hit


def _renal_course(out, b: _Block, cpc, cday, cv, start_idx, has_c, crcl_start, pat, cfg) -> None:
    """Creatinine clearance recomputed at every creatinine on or after the maintenance start.

    For the renally dosed agents (lenalidomide, ixazomib): the value at the start (last
    creatinine on or before it, else the first) dated at the start, then one value per later
    creatinine, with the age at the start plus the years elapsed (rule ``renal-recompute``).
    Only the rows where the patient's renal band becomes worse than before are kept (``pcode,
    day, crcl``): the dose rules turn exactly those into actions, and the millions of unchanged
    values of a registry need not be carried to them.
    """
    sl = b.patients
    start = pat["start"][sl]
    agent = pat["agent"][sl]
    renal_agent = np.isin(agent, ["lenalidomide", "ixazomib"]) & (start != NA_DAY)
    age, weight = pat["age"][sl], pat["weight"][sl]
    known = ~np.isnan(age) & ~np.isnan(weight) & pat["sex_known"][sl]
    later = renal_agent[cpc] & known[cpc] & (cday > start[cpc]) & (cv > 0)
    lp = cpc[later]
    years = (cday[later] - start[lp]) / 365.25
    crcl_later = D.cockcroft_gault(age[lp] + years, weight[lp], cv[later], pat["female"][sl][lp])
    at_start = np.flatnonzero(renal_agent & has_c & ~np.isnan(crcl_start))
    # start rows first, then later rows: a stable sort by (patient, day) keeps each start row
    # ahead of that patient's later creatinines (all later days are > start)
    r_pc = np.concatenate([at_start, lp]).astype(np.int64)
    if not len(r_pc):
        return
    r_day = np.concatenate([start[at_start], cday[later]]).astype(np.int64)
    r_crcl = np.concatenate([crcl_start[at_start], crcl_later])
    order = np.lexsort((r_day, r_pc))
    r_pc, r_day, r_crcl = r_pc[order], r_day[order], r_crcl[order]
    band = DR.renal_band_code(r_crcl, pat["dialysis"][sl][r_pc], cfg.dosing).astype(np.int64)
    band = np.where((agent[r_pc] == "ixazomib") & (band == 1), 0, band)
    new_p = np.r_[True, r_pc[1:] != r_pc[:-1]]
    # running worst band per patient (bands 0..3 offset by 4 x patient rank keep patients apart)
    rank = np.cumsum(new_p) - 1
    run = np.maximum.accumulate(rank * 4 + np.maximum(band, 0)) - rank * 4
    prev = np.where(new_p, 0, np.r_[0, run[:-1]])
    keep = (band > prev) & (band > 0)
    if keep.any():
        out.add("renal_pc", r_pc[keep] + b.p0)
        out.add("renal_day", r_day[keep])
        out.add("renal_crcl", r_crcl[keep])


def _dosing_block(out: _Blocks, b: _Block, pat, cfg):
    """Blood-count summaries the dose rules need: hold/resume episodes, counts before the start,
    tolerance evidence."""
    p0, Pb, pc, day, acode, value = b.p0, b.n_patients, b.pcode, b.day, b.analyte, b.value
    anc_c, plt_c = U.ANALYTE_CODE["anc"], U.ANALYTE_CODE["platelets"]
    c_idx = np.flatnonzero((acode == anc_c) | (acode == plt_c))
    c_pc, c_day, c_a, c_v = pc[c_idx], day[c_idx], acode[c_idx], value[c_idx]
    sl = slice(p0, p0 + Pb)
    start, on, agent = pat["start"][sl], pat["start"][sl] != NA_DAY, pat["agent"][sl]
    start_or_na = np.where(on, start, NA_DAY)
    heme = pat["heme_agent"][sl]
    m = heme[c_pc] & (c_day >= start_or_na[c_pc])
    if m.any():
        cbc = pd.DataFrame(
            {
                "pcode": c_pc[m] + p0,
                "day": c_day[m],
                "analyte": pd.Categorical.from_codes(
                    (c_a[m] != anc_c).astype(np.int8), ["anc", "platelets"]
                ),
                "value": c_v[m],
            }
        )
        ep = D.hematologic_episodes(cbc, pat["agent"], cfg.dosing)
        if len(ep):
            out.add("episodes", ep)
    lm = (agent == "lenalidomide") & on
    if lm.any():
        for code in (anc_c, plt_c):
            mm = (c_a == code) & lm[c_pc] & (c_day <= start_or_na[c_pc])
            if mm.any():
                out.add(
                    f"start_rows_{code}",
                    pd.DataFrame({"pcode": c_pc[mm] + p0, "day": c_day[mm], "value": c_v[mm]}),
                )
    for name, days in (
        ("lenalidomide", cfg.dosing.len_escalation_days),
        ("ixazomib", cfg.dosing.ixa_escalation_days),
    ):
        at = start + days
        out.put(
            f"seen_{name}",
            p0,
            _any_by(c_pc, (c_day > start[c_pc]) & (c_day <= at[c_pc]), Pb),
            False,
            bool,
        )


BASELINE_BASIS = {
    "diagnosis": (
        "diagnosis (last assessment on or before the diagnosis date)",
        "first assessment (none on or before the diagnosis date)",
        "first assessment (no diagnosis date given)",
    ),
    "maintenance": (
        "maintenance start (last assessment on or before it; option --baseline maintenance)",
        "first assessment (none on or before the maintenance start)",
        "first assessment (no maintenance start given)",
    ),
}


def _baseline_basis(mode, basis_day, baseline_day, has_rows) -> np.ndarray:
    """Which baseline each patient's response is measured against (said in every result)."""
    texts = np.array(BASELINE_BASIS[mode] + (None,), dtype=object)
    known = basis_day != NA_DAY
    on_or_before = known & (baseline_day != NA_DAY) & (baseline_day <= basis_day)
    code = np.select([~has_rows, on_or_before, known], [3, 0, 1], 2)
    return texts[code]


def _patient_codes(labs: pd.DataFrame, n: int):
    """``pd.factorize(labs.patient_id, sort=False)`` computed on runs of equal ids.

    Returns ``(run_start, run_code, uniq, grouped)``; ``grouped`` is True when every patient's
    rows form one run (the usual registry extract), so the long table need not be reordered.
    """
    ids = labs["patient_id"]
    arr = ids.to_numpy()
    breaks = []
    step = 4_000_000
    for a in range(0, max(n - 1, 0), step):
        b = min(a + step, n - 1)
        breaks.append(np.flatnonzero(arr[a + 1 : b + 1] != arr[a:b]) + a + 1)
    run_start = np.concatenate([np.zeros(1 if n else 0, dtype=np.int64)] + breaks).astype(np.int64)
    run_code, uniq = pd.factorize(ids.iloc[run_start], sort=False)
    run_code = np.asarray(run_code, dtype=np.int64)
    grouped = bool(
        len(run_code) == len(uniq) and (run_code >= 0).all()
    )  # factorize numbers in first-seen order
    return run_start, run_code, pd.Index(uniq), grouped


def assess(
    labs: pd.DataFrame,
    patients: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    qol=None,
    config: MonitorConfig = MonitorConfig(),
    bad_rows: tuple = (),
) -> MonitorResult:
    """Assess every patient: IMWG response/progression, CTCAE grades, dose actions and alerts.

    ``labs``: long table ``patient_id, date, analyte, value[, lln, uln]`` in canonical units
    (:func:`plateau.monitor.io.read_labs` produces it).  ``patients``: frame from
    :func:`~plateau.monitor.io.read_patients`; ``events``: from
    :func:`~plateau.monitor.io.read_events`;
    ``qol``: a :class:`plateau.monitor.qol.QolResult` whose declines become alerts.

    The long table is processed in blocks of whole patients (:data:`BLOCK_ROWS` rows): every
    rule is a per-patient window function, so blocks change nothing but memory traffic.
    """
    cfg, icfg, dcfg = config, config.imwg, config.dosing
    acode, date_col, value, lln, uln = _as_long(labs)
    n_in = len(value)
    # ---- patient codes -----------------------------------------------------------------------
    run_start, run_code, uniq, grouped = _patient_codes(labs, n_in)
    n_lab_patients = len(uniq)
    extra = []
    for frame in (patients, events):
        if frame is not None and len(frame):
            ids = pd.Index(frame["patient_id"].astype(uniq.dtype if len(uniq) else object))
            extra.append(ids[uniq.get_indexer(ids) < 0])
    if extra:
        uniq = uniq.append(
            pd.Index(pd.unique(pd.Index(np.concatenate([e.to_numpy() for e in extra]))))
        )
    P = len(uniq)

    # patient attributes
    agent = np.full(P, "none", dtype=object)
    dose = np.full(P, np.nan)
    start = np.full(P, NA_DAY)
    diag = np.full(P, NA_DAY)
    stop = np.full(P, NA_DAY)
    age = np.full(P, np.nan)
    weight = np.full(P, np.nan)
    female = np.zeros(P, dtype=bool)
    sex_known = np.zeros(P, dtype=bool)
    dialysis = np.zeros(P, dtype=bool)
    if patients is not None and len(patients):
        pi = uniq.get_indexer(patients["patient_id"].astype(uniq.dtype))
        agent[pi] = patients["agent"].to_numpy()
        dose[pi] = patients["dose_mg"].to_numpy(dtype=float)
        start[pi] = _pday(patients["maintenance_start"], len(pi))
        for arr, col in ((diag, "diagnosis_date"), (stop, "stop_date")):
            if col in patients:
                arr[pi] = _pday(patients[col], len(pi))
        for arr, col in ((age, "age"), (weight, "weight_kg")):
            if col in patients:
                arr[pi] = patients[col].to_numpy(dtype=float)
        if "sex" in patients:
            female[pi] = patients["sex"].to_numpy() == "F"
            sex_known[pi] = np.isin(patients["sex"].to_numpy(), ["F", "M"])
        if "dialysis" in patients:
            dialysis[pi] = patients["dialysis"].to_numpy(dtype=bool)
    pat = {
        "start": start,
        "agent": agent,
        "age": age,
        "weight": weight,
        "female": female,
        "sex_known": sex_known,
        "heme_agent": np.isin(agent, ["lenalidomide", "ixazomib", "bortezomib"]),
        "dialysis": dialysis,
    }
    bday_all = start if cfg.baseline == "maintenance" else diag

    # ---- the long table, patient by patient in blocks --------------------------------------------
    if n_in:
        dmin = int(_days(np.asarray([date_col.min()]))[0])
        dmax = int(_days(np.asarray([date_col.max()]))[0])
    else:
        dmin, dmax = 0, 0
    span = dmax - dmin + 2
    run_len = np.diff(np.r_[run_start, n_in])
    if grouped:  # rows of patient p are [row_first[p], row_first[p+1]); only days may need sorting
        row_first = np.r_[run_start, n_in]
        cols = (date_col, acode, value, lln, uln)
    # interleaved patients: one stable sort by (patient, day), as a registry extract is usually
    # sorted
    else:
        pc_l = np.repeat(run_code, run_len)
        key = pc_l * span + (_days(date_col) - dmin)
        order = np.argsort(key, kind="stable")
        del key
        pc_l = pc_l[order]
        cols = (
            date_col[order],
            acode[order],
            value[order],
            lln[order] if lln is not None else None,
            uln[order] if uln is not None else None,
        )
        row_first = np.searchsorted(pc_l, np.arange(n_lab_patients + 1), "left")
        del pc_l, order
    out = _Blocks(P)
    p0 = 0
    while p0 < n_lab_patients:
        r0 = row_first[p0]
        p1 = int(np.searchsorted(row_first, r0 + BLOCK_ROWS, "right")) - 1
        p1 = min(max(p1, p0 + 1), n_lab_patients)
        r1 = row_first[p1]
        Pb = p1 - p0
        b_date, b_acode, b_value = cols[0][r0:r1], cols[1][r0:r1], cols[2][r0:r1]
        b_lln = cols[3][r0:r1] if cols[3] is not None else None
        b_uln = cols[4][r0:r1] if cols[4] is not None else None
        pc = np.repeat(np.arange(Pb, dtype=np.int64), np.diff(row_first[p0 : p1 + 1]))
        day = _days(b_date)
        key = pc * span + (day - dmin)
        if len(key) > 1 and not (key[1:] >= key[:-1]).all():
            order = np.argsort(key, kind="stable")
            key, day, b_acode, b_value = key[order], day[order], b_acode[order], b_value[order]
            b_lln = b_lln[order] if b_lln is not None else None
            b_uln = b_uln[order] if b_uln is not None else None
        blk = _Block(p0, Pb, pc, day, b_acode, b_value, b_lln, b_uln, key, span, dmin)
        baseline_b = _disease_block(out, blk, bday_all[p0:p1], cfg)
        _ctcae_block(out, blk, baseline_b, pat, cfg)
        _dosing_block(out, blk, pat, cfg)
        p0 = p1
    del cols

    rules: dict[str, np.ndarray] = {}  # rule id -> per-patient bool array

    def use(rule_id, mask_p):
        rules[rule_id] = rules.get(rule_id, np.zeros(P, dtype=bool)) | mask_p

    def A(name, fill=False, dtype=bool):
        return out.get(name, fill, dtype)

    has_rows = A("has_rows")
    baseline_day = A("baseline_day", NA_DAY, np.int64)
    M = _measurability(
        A("s0", np.nan, float),
        A("u0", np.nan, float),
        A("k0", np.nan, float),
        A("l0", np.nan, float),
        A("bm0", np.nan, float),
        icfg,
    )
    serum_meas, urine_meas, flc_meas, marrow_meas = (
        M["serum_meas"],
        M["urine_meas"],
        M["flc_meas"],
        M["marrow_meas"],
    )
    measurable_by = np.select(
        [serum_meas, urine_meas, flc_meas, marrow_meas], ["serum", "urine", "flc", "marrow"], NONE
    ).astype(object)
    use("imwg-measurable-serum", serum_meas)
    use("imwg-measurable-urine", urine_meas & ~serum_meas)
    use("imwg-measurable-flc", flc_meas)
    use("imwg-involved-flc", flc_meas)
    use("imwg-flc-ratio-normal", has_rows)
    use("imwg-hierarchy", flc_meas | marrow_meas)
    use(
        "imwg-measurable-flc-operator",
        ~M["mprot_meas"] & M["abnormal"] & (np.abs(M["iflc0"] - icfg.measurable_flc) < 1e-9),
    )

    best = A("best", -1, np.int64)
    prog_day = A("prog_day", NA_DAY, np.int64)
    prog_p = prog_day != NA_DAY
    for code, rid in I.DEPTH_RULE.items():
        use(rid, (best == code) | A(f"depth_seen_{code}"))
    for crit in _PD_CRITERIA:
        use(I.PD_RULE[crit], A(f"pd_rule_{crit}"))
    use("imwg-confirm-pd", A("pd_any"))
    use("imwg-progression-date", prog_p)
    use("imwg-nadir", A("pd_any"))
    use("imwg-confirm-response", best >= I.MR)
    use("imwg-downgrade", A("downgrade"))
    use("imwg-pd-high-nadir-reference", A("high_nadir_ref"))
    use("imwg-pd-serum-operator", A("serum_operator"))
    use("imwg-missing-secondary", A("missing_secondary"))
    use("imwg-vgpr-urine-not-retested", A("vgpr_no_urine"))
    use("imwg-marrow-no-confirmation", A("marrow_no_confirm"))
    use("imwg-lesion-carried", A("lesion_carried"))
    use("imwg-baseline", has_rows)
    use("imwg-pd-plasmacytoma", A("spd_pd"))
    use("imwg-plasmacytoma-response", A("spd_base"))
    if icfg.flc_vgpr:
        use("imwg-vgpr-flc-only", A("vgpr_flc_only"))
    if icfg.mr_requires_urine_above_200:
        use("imwg-mr-urine-200", best == I.MR)
    use("endpoint-pfs", has_rows & (measurable_by != None))  # noqa: E711
    relapse_day = A("relapse_day", NA_DAY, np.int64)
    use("imwg-relapse-from-cr", relapse_day != NA_DAY)

    # endpoints
    last_ev = A("last_ev", NA_DAY, np.int64)
    t0 = np.where(start != NA_DAY, start, baseline_day)
    end_day = np.where(prog_day != NA_DAY, prog_day, last_ev)
    ok_t = (t0 != NA_DAY) & (end_day != NA_DAY) & (measurable_by != None)  # noqa: E711
    pfs_days = np.where(ok_t, end_day - t0, -1)
    resp_day = A("resp_day", NA_DAY, np.int64)
    dor = np.where((resp_day != NA_DAY) & (end_day != NA_DAY), end_day - resp_day, -1)
    use("endpoint-dor", resp_day != NA_DAY)

    # ---- CTCAE from labs ------------------------------------------------------------------------
    crcl_start = A("crcl_start", np.nan, float)
    g_pc, g_day, g_term = (
        out.cat("g_pc", np.int32),
        out.cat("g_day", np.int32),
        out.cat("g_term", np.int8),
    )
    g_grade, g_value = out.cat("g_grade", np.int8), out.cat("g_value", float)
    codes_sorted = _GRADED_CODES
    use(C.RULE_DEFAULT_LIMITS.id, A("default_limits"))
    use(C.RULE_CREATININE_BASELINE.id, A("creat_base"))
    for name in GRADED:
        use(C.LAB_TERM_BY_ANALYTE[name].rule.id, A(f"term_{name}"))
    term_cat = pd.Categorical.from_codes(g_term, [_TERM_OF_CODE[c] for c in codes_sorted])
    unit_cat = pd.Categorical([_UNIT_OF_CODE[c] for c in codes_sorted])[g_term]
    source_cat = pd.Categorical.from_codes(np.zeros(len(g_term), np.int8), ["lab"])

    if events is not None and len(events):
        e_pc = uniq.get_indexer(events["patient_id"].astype(uniq.dtype))
        e_day = events["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        ct_ev = pd.DataFrame(
            {
                "pcode": e_pc,
                "day": e_day,
                "term": events["term"].to_numpy(),
                "grade": events["grade"].to_numpy().astype(np.int8),
                "source": "reported",
                "value": np.nan,
                "unit": "",
                "with_pain": events["with_pain"].to_numpy()
                if "with_pain" in events
                else np.zeros(len(events), bool),
            }
        )
        for t in C.EVENT_TERMS.values():
            use(t.rule.id, _per_patient_any(e_pc, ct_ev["term"].to_numpy() == t.term, P))
    else:
        ct_ev = pd.DataFrame(
            columns=["pcode", "day", "term", "grade", "source", "value", "unit", "with_pain"]
        )
    n_lab = len(g_pc)
    if len(ct_ev):
        # lab rows then reported rows, stably sorted by (patient, day, term) as pandas' sort_values
        # would
        e_term = ct_ev["term"].to_numpy().astype(object)
        term_all = np.concatenate([np.asarray(term_cat).astype(object), e_term])
        t_uniq, t_rank = np.unique(term_all.astype(str), return_inverse=True)
        pc_all = np.concatenate([g_pc, ct_ev["pcode"].to_numpy().astype(np.int64)])
        day_all = np.concatenate([g_day, ct_ev["day"].to_numpy().astype(np.int64)])
        order = np.lexsort((t_rank, day_all, pc_all))
        ct_cols = {
            "pcode": pc_all[order],
            "day": day_all[order],
            "term": term_all[order],
            "grade": np.concatenate([g_grade, ct_ev["grade"].to_numpy().astype(np.int8)])[order],
            "source": np.concatenate(
                [np.full(n_lab, "lab", dtype=object), np.full(len(ct_ev), "reported", dtype=object)]
            )[order],
            "value": np.concatenate([g_value, np.full(len(ct_ev), np.nan)])[order],
            "unit": np.concatenate(
                [np.asarray(unit_cat).astype(object), np.full(len(ct_ev), "", dtype=object)]
            )[order],
        }
    else:  # already sorted by (pcode, day); terms of one day follow the analyte order
        ct_cols = {
            "pcode": g_pc,
            "day": g_day,
            "term": term_cat,
            "grade": g_grade,
            "source": source_cat,
            "value": g_value,
            "unit": unit_cat,
        }
    del g_pc, g_day, g_value, term_cat, unit_cat, source_cat
    is3 = ct_cols["grade"] >= 3
    tox = {
        "pcode": ct_cols["pcode"][is3],
        "day": ct_cols["day"][is3],
        "term": np.asarray(ct_cols["term"][is3]).astype(object),
        "grade": ct_cols["grade"][is3],
    }

    # ---- dose actions ---------------------------------------------------------------------------
    ep_parts = out.parts.pop("episodes", [])
    ep = (
        pd.concat(ep_parts, ignore_index=True)
        if ep_parts
        else pd.DataFrame(columns=["pcode", "day", "event", "cause", "value", "episode"])
    )
    anc_c, plt_c = U.ANALYTE_CODE["anc"], U.ANALYTE_CODE["platelets"]
    start_rows = {
        code: pd.concat(out.parts[f"start_rows_{code}"], ignore_index=True)
        for code in (anc_c, plt_c)
        if out.parts.get(f"start_rows_{code}")
    }
    actions, act_day, alert_rows = SIG.dose_actions(
        P=P,
        agent=agent,
        dose=dose,
        start=start,
        stop=stop,
        dialysis=dialysis,
        crcl_start=crcl_start,
        episodes=ep,
        start_rows=start_rows,
        seen={k: A(f"seen_{k}") for k in ("lenalidomide", "ixazomib")},
        lab_tox_day=A("lab_tox_day", MAX_DAY, np.int64),
        ct_ev=ct_ev,
        cfg=dcfg,
        use=use,
        last_obs=np.where(has_rows, last_ev, NA_DAY),
        baseline_day=baseline_day,
        renal=pd.DataFrame(
            {
                "pcode": out.cat("renal_pc", np.int64),
                "day": out.cat("renal_day", np.int64),
                "crcl": out.cat("renal_crcl", float),
            }
        ),
        prog_day=prog_day,
        heme_tox_day=A("heme_tox_day", MAX_DAY, np.int64),
    )

    crab_parts, crab_hit = _crab_alerts(A, P, agent != "none")
    alert_rows = list(alert_rows) + crab_parts
    use("imwg-clinical-relapse", crab_hit)
    use("imwg-crab-reference", crab_hit)

    # ---- tables --------------------------------------------------------------------------------
    pid_str = uniq.astype(str).to_numpy()
    a_pc, a_day = out.cat("a_pc", np.int32), out.cat("a_day", np.int32)
    assessments = pd.DataFrame(
        {
            "patient_id": pid_str[a_pc],
            "date": date_strings(a_day),
            "response": _CAT_NAMES[out.cat("a_depth", np.int8).astype(np.int64) + 1],
            "confirmed": out.cat("a_confirmed", bool),
            "pd_criteria": _PD_CRIT_TEXT[out.cat("a_crit")],
            "note": _NOTES[out.cat("a_note", np.int8)],
        },
        copy=False,
    )
    del a_pc, a_day
    out.parts.clear()

    def dstr(d):
        return np.where(d == NA_DAY, None, _date_str(np.where(d == NA_DAY, 0, d))).astype(object)

    best_name = np.where(best >= 0, _CAT_NAMES[np.maximum(best, -1) + 1], NONE).astype(object)
    best_name = np.where(has_rows & (measurable_by != None), best_name, NONE)  # noqa: E711
    best_day = np.where(
        A("has_best_row") & (best_name != None),  # noqa: E711 - elementwise on an object array
        A("best_day_raw", NA_DAY, np.int64),
        NA_DAY,
    )
    ttp = np.where(ok_t, pfs_days, -1)
    patients_tbl = pd.DataFrame(
        {
            "patient_id": pid_str,
            "pcode": np.arange(P),
            "baseline_date": dstr(np.where(has_rows, baseline_day, NA_DAY)),
            "baseline_basis": _baseline_basis(cfg.baseline, bday_all, baseline_day, has_rows),
            "measurable_by": np.where(has_rows, measurable_by, NONE),
            "best_response": best_name,
            "best_response_date": dstr(best_day),
            "progression_date": dstr(prog_day),
            "pfs_days": [int(x) if x >= 0 else None for x in pfs_days] if P < 200000 else pfs_days,
            "pfs_event": prog_p,
            "ttp_days": [int(x) if x >= 0 else None for x in ttp] if P < 200000 else ttp,
            "duration_of_response_days": [int(x) if x >= 0 else None for x in dor]
            if P < 200000
            else dor,
            "time_on_maintenance_days": SIG.time_on_maintenance(start, stop, last_ev),
        }
    )
    # alerts from progression / relapse / toxicity / QoL, then the benefit-harm signal
    prog_crit = np.where(prog_p, _PD_CRIT_TEXT[A("prog_crit", 0, np.int64)], "").astype(object)
    alerts = SIG.build_alerts(
        P=P,
        pid=pid_str,
        prog_day=prog_day,
        prog_crit=prog_crit,
        unconf_day=A("unconf_day", NA_DAY, np.int64),
        relapse_day=relapse_day,
        tox=tox,
        actions=actions,
        act_day=act_day,
        extra=alert_rows,
        qol=qol,
        best=best,
        dor=dor,
        use=use,
        uniq=uniq,
    )
    if len(actions):
        actions.insert(0, "patient_id", pid_str[actions.pop("pcode").to_numpy().astype(int)])
    else:  # same columns as a non-empty table (summary() groups by patient_id)
        actions = actions.rename(columns={"pcode": "patient_id"})
    ctcae = pd.DataFrame(
        {
            "patient_id": pid_str[ct_cols["pcode"]],
            "date": date_strings(ct_cols["day"]),
            **{k: ct_cols[k] for k in ("term", "grade", "source", "value", "unit")},
        },
        copy=False,
    )
    del ct_cols
    rule_pids, rule_ids = [], []
    for rid, mask in rules.items():
        idx = np.flatnonzero(mask)
        rule_pids.append(idx)
        rule_ids.append(np.full(len(idx), rid, dtype=object))
    if rule_pids:
        rp_all = np.concatenate(rule_pids)
        order = np.argsort(rp_all, kind="stable")
        rules_used = pd.DataFrame(
            {"patient_id": pid_str[rp_all[order]], "rule": np.concatenate(rule_ids)[order]}
        )
    else:
        rules_used = pd.DataFrame(columns=["patient_id", "rule"])
    return MonitorResult(
        patients=patients_tbl,
        assessments=assessments,
        ctcae=ctcae,
        dose_actions=actions,
        alerts=alerts,
        rules_used=rules_used,
        config=cfg,
        bad_rows=tuple(bad_rows),
        n_input_rows=n_in,
    )
