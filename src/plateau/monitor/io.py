"""Reading the monitoring CSV files, with errors that name the file, row and field.

Files (header row required; extra columns are ignored):

* ``labs.csv``: ``patient_id,date,analyte,value,unit`` and optional ``lln,uln`` (the lab's
  reference limits, in the same unit as ``value``).  ``analyte`` is one of
  :data:`plateau.rules.units.ANALYTE_NAMES`; dates are ISO ``YYYY-MM-DD``.
* ``patients.csv``: ``patient_id,maintenance_start,agent,dose_mg`` and optional
  ``diagnosis_date,stop_date,age,sex,weight_kg,dialysis``.  For bortezomib ``dose_mg`` is the
  dose in mg/m2.
* ``events.csv``: ``patient_id,date,term,grade`` and optional ``with_pain`` (yes/no), reported
  adverse events graded by the clinician with CTCAE v5.0 (see :mod:`plateau.monitor.ctcae`).
* ``qlq.csv``: ``patient_id,date,q1..q30`` (EORTC QLQ-C30 v3) and optional ``my1..my20``
  (QLQ-MY20); an empty cell is a missing item.

Rows are numbered from 1 (the first data row; its line in the file is row + 1).  Validation is
vectorised: every row is checked, the first problem of each row is reported.  By default the
first bad row raises :class:`plateau.errors.PlateauError`; with ``skip_bad_rows=True`` the bad
rows are returned in ``bad_rows`` and the rest is kept.
"""

from __future__ import annotations

import io as _io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from plateau.errors import PlateauError
from plateau.rules import units as U

AGENTS = ("lenalidomide", "thalidomide", "bortezomib", "ixazomib", "daratumumab", "none")


@dataclass(frozen=True)
class BadRow:
    """One rejected input row."""

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: row {self.row} (line {self.row + 1}), field '{self.field}': "
            f"{self.message}"
        )

    def to_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Table:
    """A validated input table (``frame``) and the rows rejected from it (``bad_rows``)."""

    name: str
    frame: pd.DataFrame
    bad_rows: tuple[BadRow, ...] = field(default_factory=tuple)
    #: the file's row number (from 1, as in :class:`BadRow`) of each row of ``frame``, in order
    rows: tuple[int, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        return f"{self.name}: {len(self.frame)} rows kept, {len(self.bad_rows)} rejected"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "rows": int(len(self.frame)),
            "bad_rows": [b.to_dict() for b in self.bad_rows],
        }


def _read_raw(source, name: str) -> tuple[pd.DataFrame, str]:
    """``source`` is a path, a text stream (``io.StringIO``) or a DataFrame of strings."""
    if isinstance(source, pd.DataFrame):
        frame = source.astype(str).replace({"nan": "", "None": "", "NaT": "", "<NA>": ""})
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame.reset_index(drop=True), name
    if hasattr(source, "read"):
        text = source.read()
        if isinstance(text, bytes):
            text = _decode(text, name)
    else:
        path = Path(source)
        name = path.name
        text = _decode(path.read_bytes(), name)
    _check_separator(text, name)
    try:
        frame = pd.read_csv(
            _io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except pd.errors.EmptyDataError:
        raise PlateauError(f"{name}: the file is empty (a header row is required)") from None
    except pd.errors.ParserError as e:
        raise PlateauError(f"{name}: not a readable comma-separated file ({e})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    for c in frame.columns:
        frame[c] = frame[c].str.strip()
    return frame, name


def _decode(data: bytes, name: str) -> str:
    """Text of a CSV file: UTF-8 (with or without BOM), else the encoding charset-normalizer
    detects (Latin-1, Windows-1252, UTF-16 with BOM ...); a one-line error naming the file if
    none fits."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise PlateauError(
            f"{name}: cannot read the file's text encoding (not UTF-8, and no other encoding "
            "could be detected); save it as UTF-8 CSV"
        )
    text = str(best)
    return text[1:] if text.startswith("\ufeff") else text


def _check_separator(text: str, name: str) -> None:
    """Reject semicolon- or tab-separated files with the separator named as the cause."""
    header = text.split("\n", 1)[0]
    for sep, label in ((";", "semicolon (;)"), ("\t", "tab")):
        if header.count(sep) >= 1 and header.count(sep) > header.count(","):
            raise PlateauError(
                f"{name}: the header is separated by {label}, not commas: plateau reads "
                "comma-separated files (save as 'CSV (comma delimited)'; decimal separator '.')"
            )


def _today() -> pd.Timestamp:
    """Today's date (the latest date an observation may carry)."""
    return pd.Timestamp.today().normalize()


def _require(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PlateauError(
            f"{name}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"expected header {','.join(columns)}"
        )


class _Errors:
    """First error per row, collected column by column (earlier checks win)."""

    def __init__(self, n: int, name: str):
        self.field = np.full(n, None, dtype=object)
        self.message = np.full(n, None, dtype=object)
        self.name = name
        self.drop = np.zeros(n, dtype=bool)  # rows dropped without error (exact repeats)

    def add(self, mask: np.ndarray, fieldname: str, messages) -> None:
        mask = np.asarray(mask, dtype=bool) & (self.field == None)  # noqa: E711
        if not mask.any():
            return
        self.field[mask] = fieldname
        if isinstance(messages, str):
            self.message[mask] = messages
        else:
            self.message[mask] = np.asarray(messages, dtype=object)[mask]

    @property
    def bad(self) -> np.ndarray:
        return self.field != None  # noqa: E711

    def finish(self, skip_bad_rows: bool) -> tuple[BadRow, ...]:
        idx = np.flatnonzero(self.bad)
        rows = tuple(BadRow(self.name, int(i) + 1, self.field[i], self.message[i]) for i in idx)
        if rows and not skip_bad_rows:
            more = (
                f" ({len(rows) - 1} more bad row(s); use --skip-bad-rows to skip them)"
                if len(rows) > 1
                else ""
            )
            raise PlateauError(f"{rows[0]}{more}")
        return rows


def _row_numbers(keep: np.ndarray) -> tuple[int, ...]:
    """Row numbers (from 1) of the kept rows."""
    return tuple((np.flatnonzero(keep) + 1).tolist())


def _dates(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, format="%Y-%m-%d", errors="coerce")


def _date_check(
    err: _Errors, frame: pd.DataFrame, column: str, required: bool = True, future_ok: bool = False
) -> pd.Series:
    """Parse an ISO date column; observations (``future_ok=False``) may not lie in the future."""
    raw = frame[column]
    parsed = _dates(raw)
    empty = raw.eq("").to_numpy()
    if required:
        err.add(empty, column, "missing date")
    bad = parsed.isna().to_numpy() & ~empty
    err.add(bad, column, "unparseable date '" + raw.astype(str) + "' (expected YYYY-MM-DD)")
    future = (parsed > _today()).to_numpy() & (not future_ok)
    err.add(future, column, "date '" + raw.astype(str) + "' is in the future")
    return parsed


def read_labs(source, *, skip_bad_rows: bool = False, name: str = "labs.csv") -> Table:
    """Read and validate ``labs.csv``; values are converted to canonical units (see :mod:`units`).

    Returns a :class:`Table` whose frame has columns ``patient_id`` (str), ``date``
    (datetime64), ``analyte`` (str), ``value`` (float, canonical unit; 1/0 for positive/negative),
    ``lln``, ``uln`` (float, canonical unit, NaN when not given).
    """
    frame, name = _read_raw(source, name)
    _require(frame, name, ("patient_id", "date", "analyte", "value", "unit"))
    n = len(frame)
    err = _Errors(n, name)
    err.add(frame["patient_id"].eq("").to_numpy(), "patient_id", "missing patient_id")
    dates = _date_check(err, frame, "date")

    analyte = frame["analyte"].str.lower()
    a_code = pd.Categorical(analyte, categories=U.ANALYTE_NAMES).codes.astype(np.int64)
    known = ", ".join(U.ANALYTE_NAMES)
    err.add(a_code < 0, "analyte", "unknown analyte '" + frame["analyte"] + f"' (known: {known})")
    a_safe = np.where(a_code < 0, 0, a_code)
    qual = U.IS_QUALITATIVE[a_safe] & (a_code >= 0)

    unit = frame["unit"]
    u_code = pd.Categorical(unit, categories=U.UNIT_NAMES).codes.astype(np.int64)
    factor = np.where(u_code >= 0, U.FACTOR[a_safe, np.where(u_code < 0, 0, u_code)], np.nan)
    factor = np.where(qual & unit.isin(["", "{qual}"]).to_numpy(), 1.0, factor)
    accepted = {a: ", ".join(repr(u) for u in U.ANALYTES[a].units) for a in U.ANALYTE_NAMES}
    accepted_msg = analyte.map(accepted).fillna("")
    err.add(
        (a_code >= 0) & np.isnan(factor),
        "unit",
        "unknown unit '" + unit + "' for " + analyte + " (accepted: " + accepted_msg + ")",
    )

    raw_value = frame["value"]
    numeric = pd.to_numeric(raw_value, errors="coerce").to_numpy(dtype=float)
    low = raw_value.str.lower()
    qual_value = np.where(
        low.isin(U.POSITIVE_WORDS), 1.0, np.where(low.isin(U.NEGATIVE_WORDS), 0.0, np.nan)
    )
    value = np.where(qual, qual_value, numeric)
    err.add(raw_value.eq("").to_numpy(), "value", "missing value")
    err.add(
        qual & np.isnan(qual_value),
        "value",
        "'" + raw_value + "' is not positive/negative for " + analyte,
    )
    err.add(~qual & np.isnan(numeric), "value", "'" + raw_value + "' is not a number")
    err.add(
        ~qual & ~np.isfinite(numeric) & ~np.isnan(numeric),
        "value",
        "'" + raw_value + "' is not finite",
    )
    canon = value * factor
    lo, hi = U.PLAUSIBLE_LOW[a_safe], U.PLAUSIBLE_HIGH[a_safe]
    canonical_unit = pd.Series(
        [U.ANALYTES[U.ANALYTE_NAMES[c]].canonical_unit for c in a_safe], index=frame.index
    )
    err.add(
        ~qual & (numeric < 0),
        "value",
        "impossible value " + raw_value + " " + unit + " for " + analyte + ": negative",
    )
    out_of_range = ~qual & ((canon < lo) | (canon > hi))
    range_msg = (
        "impossible value "
        + raw_value
        + " "
        + unit
        + " for "
        + analyte
        + ": outside the plausible range "
        + pd.Series(lo, index=frame.index).map("{:g}".format)
        + "-"
        + pd.Series(hi, index=frame.index).map("{:g}".format)
        + " "
        + canonical_unit
    )
    err.add(out_of_range, "value", range_msg)

    limits = {}
    for col in ("lln", "uln"):
        if col in frame.columns:
            raw = frame[col]
            num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            err.add(
                ~raw.eq("").to_numpy() & (np.isnan(num) | (num < 0)),
                col,
                "'" + raw + "' is not a non-negative number",
            )
            limits[col] = num * factor
            _check_limits(err, col, raw, limits[col], analyte, a_safe)
        else:
            limits[col] = np.full(n, np.nan)
    _check_duplicates(err, frame, analyte, canon)

    bad_rows = err.finish(skip_bad_rows)
    keep = ~err.bad & ~err.drop
    out = pd.DataFrame(
        {
            "patient_id": frame["patient_id"].to_numpy()[keep],
            "date": dates.to_numpy()[keep],
            "analyte": analyte.to_numpy()[keep],
            "value": canon[keep],
            "lln": limits["lln"][keep],
            "uln": limits["uln"][keep],
        }
    )
    return Table(name, out, bad_rows, _row_numbers(keep))


_LIMIT_FACTOR = 4.0
"""A lab's LLN/ULN is accepted within a factor of 4 of plateau's default limit (DESIGN): wider
than any real laboratory's range, narrow enough to catch unit slips such as a creatinine ULN of
0.01 mg/dL."""


def _check_limits(err, col, raw, canon_limit, analyte, a_safe) -> None:
    from plateau.rules.ctcae import ReferenceLimits

    ref = ReferenceLimits()
    default = np.array(
        [
            ref.default_for(a)
            if a in ("anc", "platelets", "wbc", "hemoglobin", "creatinine", "calcium")
            else np.nan
            for a in U.ANALYTE_NAMES
        ]
    )[a_safe]
    lo, hi = default / _LIMIT_FACTOR, default * _LIMIT_FACTOR
    with np.errstate(invalid="ignore"):
        bad = (
            ~np.isnan(canon_limit) & ~np.isnan(default) & ((canon_limit < lo) | (canon_limit > hi))
        )
    if bad.any():
        unit = np.array([U.ANALYTES[a].canonical_unit for a in U.ANALYTE_NAMES], dtype=object)[
            a_safe
        ]
        msg = (
            "implausible reference limit "
            + col
            + " "
            + raw
            + " for "
            + analyte
            + " (expected "
            + pd.Series(lo).map("{:.3g}".format).to_numpy()
            + "-"
            + pd.Series(hi).map("{:.3g}".format).to_numpy()
            + " "
            + unit
            + " after conversion)"
        )
        err.add(bad, col, msg.to_numpy() if hasattr(msg, "to_numpy") else msg)


def _check_duplicates(err, frame, analyte, canon) -> None:
    """Two rows with the same patient, date and analyte: identical values are one result (the
    later row is dropped); different values are rejected, naming both rows."""
    key = pd.DataFrame(
        {
            "p": frame["patient_id"].to_numpy(),
            "d": frame["date"].to_numpy(),
            "a": analyte.to_numpy(),
        }
    )
    dup = key.duplicated(keep=False).to_numpy() & ~err.bad
    if not dup.any():
        return
    idx = np.flatnonzero(dup)
    sub = key.iloc[idx]
    group = sub.groupby(["p", "d", "a"], sort=False).ngroup().to_numpy()
    first_pos = pd.Series(idx).groupby(group).transform("min").to_numpy()
    first = first_pos == idx
    later = ~first
    v_first = canon[first_pos]
    v = canon[idx]
    same = np.isclose(v, v_first, rtol=1e-9, atol=0.0) | (np.isnan(v) & np.isnan(v_first))
    conflict = np.zeros(len(frame), dtype=bool)
    conflict[idx[later & ~same]] = True
    msgs = np.full(len(frame), None, dtype=object)
    raw = frame["value"].to_numpy()
    for i, j in zip(idx[later & ~same], first_pos[later & ~same], strict=True):
        msgs[i] = (
            f"conflicting value '{raw[i]}' for patient {key['p'].iat[i]}, {key['d'].iat[i]}, "
            f"{key['a'].iat[i]}: row {j + 1} (line {j + 2}) has '{raw[j]}' (two different "
            "results for one patient, date and analyte)"
        )
    err.add(conflict, "value", msgs)
    repeat = np.zeros(len(frame), dtype=bool)
    repeat[idx[later & same]] = True
    err.drop |= repeat


def _yes_no(err: _Errors, frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    low = frame[column].str.lower()
    ok = low.isin(U.POSITIVE_WORDS + U.NEGATIVE_WORDS + ("",)).to_numpy()
    err.add(~ok, column, "'" + frame[column] + "' is not yes/no")
    return low.isin(U.POSITIVE_WORDS).to_numpy()


def _number(
    err: _Errors, frame: pd.DataFrame, column: str, lo: float, hi: float, required=False
) -> np.ndarray:
    if column not in frame.columns:
        if required:
            raise PlateauError(f"{err.name}: missing column '{column}'")
        return np.full(len(frame), np.nan)
    raw = frame[column]
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    empty = raw.eq("").to_numpy()
    if required:
        err.add(empty, column, f"missing {column}")
    err.add(~empty & np.isnan(num), column, "'" + raw + "' is not a number")
    err.add(
        ~empty & ((num < lo) | (num > hi)),
        column,
        "impossible value " + raw + f" for {column}: outside {lo:g}-{hi:g}",
    )
    return num


def read_patients(source, *, skip_bad_rows: bool = False, name: str = "patients.csv") -> Table:
    """Read and validate ``patients.csv`` (one row per patient)."""
    frame, name = _read_raw(source, name)
    _require(frame, name, ("patient_id", "maintenance_start", "agent", "dose_mg"))
    err = _Errors(len(frame), name)
    err.add(frame["patient_id"].eq("").to_numpy(), "patient_id", "missing patient_id")
    err.add(
        frame["patient_id"].duplicated().to_numpy(),
        "patient_id",
        "duplicate patient_id '" + frame["patient_id"] + "'",
    )
    start = _date_check(err, frame, "maintenance_start", future_ok=True)
    dx = (
        _date_check(err, frame, "diagnosis_date", required=False)
        if "diagnosis_date" in frame
        else None
    )
    stop = (
        _date_check(err, frame, "stop_date", required=False, future_ok=True)
        if "stop_date" in frame
        else None
    )
    if stop is not None:  # the order of the dates (NaT compares False: missing dates pass)
        err.add(
            (stop < start).to_numpy(),
            "stop_date",
            "stop_date '"
            + frame["stop_date"]
            + "' is before maintenance_start '"
            + frame["maintenance_start"]
            + "'",
        )
    if dx is not None:
        err.add(
            (dx > start).to_numpy(),
            "diagnosis_date",
            "diagnosis_date '"
            + frame["diagnosis_date"]
            + "' is after maintenance_start '"
            + frame["maintenance_start"]
            + "'",
        )
    agent = frame["agent"].str.lower().replace({"": "none"})
    err.add(
        ~agent.isin(AGENTS).to_numpy(),
        "agent",
        "unknown agent '" + frame["agent"] + f"' (known: {', '.join(AGENTS)})",
    )
    dose = _number(err, frame, "dose_mg", 0.0, 2000.0)
    from plateau.rules.dosing import LABEL_DOSE_RANGES, dose_in_label_range

    ranges = {
        a: " or ".join(f"{lo:g}-{hi:g}" if lo != hi else f"{lo:g}" for lo, hi in r)
        for a, r in LABEL_DOSE_RANGES.items()
    }
    unit = np.where(agent.to_numpy() == "bortezomib", "mg/m2", "mg")
    err.add(
        ~dose_in_label_range(agent.to_numpy(), dose),
        "dose_mg",
        "dose "
        + frame["dose_mg"]
        + " "
        + unit
        + " is outside the label's range for "
        + agent
        + " ("
        + agent.map(ranges).fillna("")
        + ")",
    )
    age = _number(err, frame, "age", 0.0, 130.0)
    weight = _number(err, frame, "weight_kg", 1.0, 400.0)
    if "sex" in frame.columns:
        sex = frame["sex"].str.upper().str[:1]
        err.add(~sex.isin(["M", "F", ""]).to_numpy(), "sex", "'" + frame["sex"] + "' is not M/F")
    else:
        sex = pd.Series([""] * len(frame))
    dialysis = _yes_no(err, frame, "dialysis")
    bad_rows = err.finish(skip_bad_rows)
    keep = ~err.bad
    out = pd.DataFrame(
        {
            "patient_id": frame["patient_id"].to_numpy()[keep],
            "maintenance_start": start.to_numpy()[keep],
            "diagnosis_date": (
                dx.to_numpy()
                if dx is not None
                else np.full(len(frame), np.datetime64("NaT"), "M8[ns]")
            )[keep],
            "stop_date": (
                stop.to_numpy()
                if stop is not None
                else np.full(len(frame), np.datetime64("NaT"), "M8[ns]")
            )[keep],
            "agent": agent.to_numpy()[keep],
            "dose_mg": dose[keep],
            "age": age[keep],
            "sex": sex.to_numpy()[keep],
            "weight_kg": weight[keep],
            "dialysis": dialysis[keep],
        }
    )
    return Table(name, out, bad_rows, _row_numbers(keep))


def read_events(source, *, skip_bad_rows: bool = False, name: str = "events.csv") -> Table:
    """Read and validate ``events.csv`` (reported adverse events, CTCAE v5.0 term and grade)."""
    from plateau.monitor.ctcae import EVENT_TERMS

    frame, name = _read_raw(source, name)
    _require(frame, name, ("patient_id", "date", "term", "grade"))
    err = _Errors(len(frame), name)
    err.add(frame["patient_id"].eq("").to_numpy(), "patient_id", "missing patient_id")
    dates = _date_check(err, frame, "date")
    term = frame["term"].str.lower().str.replace(" ", "_").str.replace("-", "_")
    err.add(
        ~term.isin(list(EVENT_TERMS)).to_numpy(),
        "term",
        "unknown CTCAE term '" + frame["term"] + f"' (known: {', '.join(EVENT_TERMS)})",
    )
    grade = pd.to_numeric(frame["grade"], errors="coerce").to_numpy(dtype=float)
    allowed = term.map(lambda t: EVENT_TERMS[t].grades if t in EVENT_TERMS else (1, 2, 3, 4, 5))
    ok = np.array([g in a for g, a in zip(grade, allowed, strict=False)], dtype=bool)
    allowed_msg = allowed.map(lambda a: ", ".join(str(g) for g in a))
    err.add(
        ~ok,
        "grade",
        "grade '"
        + frame["grade"]
        + "' is not defined for "
        + term
        + " in CTCAE v5.0 (defined: "
        + allowed_msg
        + ")",
    )
    with_pain = _yes_no(err, frame, "with_pain")
    bad_rows = err.finish(skip_bad_rows)
    keep = ~err.bad
    out = pd.DataFrame(
        {
            "patient_id": frame["patient_id"].to_numpy()[keep],
            "date": dates.to_numpy()[keep],
            "term": term.to_numpy()[keep],
            "grade": grade[keep].astype(int),
            "with_pain": with_pain[keep],
        }
    )
    return Table(name, out, bad_rows, _row_numbers(keep))


C30_ITEMS = tuple(f"q{i}" for i in range(1, 31))
MY20_ITEMS = tuple(f"my{i}" for i in range(1, 21))


def read_qlq(source, *, skip_bad_rows: bool = False, name: str = "qlq.csv") -> Table:
    """Read and validate ``qlq.csv``: items q1-q28 and my1-my20 take 1-4, q29-q30 take 1-7."""
    frame, name = _read_raw(source, name)
    _require(frame, name, ("patient_id", "date") + C30_ITEMS)
    err = _Errors(len(frame), name)
    err.add(frame["patient_id"].eq("").to_numpy(), "patient_id", "missing patient_id")
    dates = _date_check(err, frame, "date")
    items = [c for c in C30_ITEMS + MY20_ITEMS if c in frame.columns]
    values = {}
    for c in items:
        raw = frame[c]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        top = 7 if c in ("q29", "q30") else 4
        empty = raw.eq("").to_numpy()
        bad = ~empty & (np.isnan(num) | (num < 1) | (num > top) | (num != np.round(num)))
        err.add(bad, c, "'" + raw + f"' is not an answer 1-{top}")
        values[c] = num
    bad_rows = err.finish(skip_bad_rows)
    keep = ~err.bad
    out = pd.DataFrame(
        {"patient_id": frame["patient_id"].to_numpy()[keep], "date": dates.to_numpy()[keep]}
    )
    for c in items:
        out[c] = values[c][keep]
    return Table(name, out, bad_rows, _row_numbers(keep))
