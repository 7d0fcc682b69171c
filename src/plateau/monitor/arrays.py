"""Array helpers shared by the monitoring engine: day numbers to ISO date strings without a string
per row."""

from __future__ import annotations

import numpy as np

NA_DAY = np.iinfo(np.int64).min


def date_str(day) -> np.ndarray:
    """``numpy.datetime_as_string`` of int day numbers (days since 1970-01-01): a ``<U10`` array."""
    return np.datetime_as_string(np.asarray(day, dtype=np.int64).astype("datetime64[D]"))


def date_strings(day) -> np.ndarray:
    """ISO date strings (object array of ``str``) for int day numbers, formatting each distinct day
    once.

    Same text as :func:`date_str`; a registry has millions of rows but only a few thousand
    distinct dates, so one ``str`` per distinct day is shared by all rows of that day.
    """
    day = np.asarray(day)
    if day.dtype.kind not in "iu":
        day = day.astype(np.int64)
    if len(day) < 64:
        return date_str(day).astype(object)
    lo, hi = int(day.min()), int(day.max())
    if lo != NA_DAY and hi - lo <= 4 * len(day) + 4096:
        return date_str(np.arange(lo, hi + 1)).astype(object)[day - lo]
    uniq, inv = np.unique(day, return_inverse=True)
    return date_str(uniq).astype(object)[inv]
