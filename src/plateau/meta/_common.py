"""Shared helpers of :mod:`plateau.meta`: input validation, warnings, result conversion.

Every public function of ``plateau.meta`` accepts one analysis (1-D arrays) or a batch
(2-D arrays, one row per analysis, NaN where a study is absent) and validates it here, so
that user errors become a :class:`plateau.errors.PlateauError` naming the field, the batch
row and the study at fault, never a silent NaN.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from plateau.errors import PlateauError

__all__ = [
    "MetaWarning",
    "ConvergenceWarning",
    "MissingStudyWarning",
    "ReadOnlyArrays",
    "prepare_batch",
    "as_output",
    "jsonable",
    "readonly",
]


class MetaWarning(UserWarning):
    """Base class of the warnings raised by :mod:`plateau.meta`."""


class ConvergenceWarning(MetaWarning):
    """An iterative estimator did not converge within its iteration cap (see ``converged``)."""


class MissingStudyWarning(MetaWarning):
    """A study with NaN in both yi and vi (missing) was left out of a single analysis."""


# Range in which the engine's sums (w = 1/(v + tau2), w^3 r^2, ...) stay finite and exact to a
# few ulps in double precision; values outside raise PlateauError instead of NaN/inf.
V_MIN = 1e-60
V_MAX = 1e60
Y_MAX = 1e60


def readonly(value: Any) -> Any:
    """A read-only view of an array (tuples and dicts of arrays element-wise); other values as-is.

    A view, not the array itself: an input array the caller passed in stays writable.
    """
    if isinstance(value, np.ndarray):
        view = value.view()
        view.setflags(write=False)
        return view
    if isinstance(value, tuple) and any(isinstance(v, np.ndarray) for v in value):
        return tuple(readonly(v) for v in value)
    if isinstance(value, dict) and any(isinstance(v, np.ndarray) for v in value.values()):
        return {k: readonly(v) for k, v in value.items()}
    return value


class ReadOnlyArrays:
    """Base of the frozen result dataclasses: their array fields are read-only after ``__init__``.

    ``frozen=True`` stops rebinding a field; this stops writing into an array a field holds,
    so a result cannot be changed after the fact by ``result.estimate[0] = ...``.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            frozen = readonly(value)
            if frozen is not value:
                object.__setattr__(self, f.name, frozen)


def where_text(rows: np.ndarray, cols: np.ndarray | None, batch: bool, limit: int = 8) -> str:
    """Human-readable list of (row, study) positions, 0-based, as in the input arrays."""
    items = []
    for i, r in enumerate(rows[:limit]):
        if cols is None:
            items.append(f"row {int(r)}")
        elif batch:
            items.append(f"row {int(r)}, study {int(cols[i])}")
        else:
            items.append(f"study {int(cols[i])}")
    more = len(rows) - limit
    return "; ".join(items) + (f" (and {more} more)" if more > 0 else "")


def _as_float_array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise PlateauError(f"{name} must be numeric: {exc}") from None
    if arr.ndim not in (1, 2):
        raise PlateauError(
            f"{name} must be 1-D (one analysis) or 2-D (one row per analysis); got {arr.ndim}-D"
        )
    return arr


def prepare_batch(
    yi: Any, vi: Any, *, min_k: int = 2, weights: Any = None, y_name: str = "yi", v_name: str = "vi"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, np.ndarray | None]:
    """Validate ``yi``/``vi`` (and optional ``weights``) and return batch arrays.

    Returns ``(y, v, mask, is_1d, w)`` where ``y`` and ``v`` are (B, k) float arrays with absent
    studies filled by 0 and 1, ``mask`` is the (B, k) boolean array of present studies and
    ``w`` the (B, k) user weights (or None).  Raises :class:`PlateauError` on: k = 0, fewer than
    ``min_k`` studies in a row, mismatched shapes, NaN in only one of yi/vi, infinite values,
    non-positive variances, variances outside [V_MIN, V_MAX] or |yi| > Y_MAX (they would
    overflow), negative or non-finite weights.  In a single analysis (1-D) a study with NaN in
    both yi and vi is left out with a :class:`MissingStudyWarning` naming it (metafor drops such
    studies with a warning too); in a batch NaN pairs are the documented padding and are silent.
    """
    y = _as_float_array(y_name, yi)
    v = _as_float_array(v_name, vi)
    if y.shape != v.shape:
        raise PlateauError(
            f"{y_name} has shape {y.shape} but {v_name} has shape {v.shape}; they must match"
        )
    is_1d = y.ndim == 1
    y2 = np.atleast_2d(y)
    v2 = np.atleast_2d(v)
    if y2.shape[1] == 0 or y2.shape[0] == 0:
        raise PlateauError(
            f"{y_name} is empty (k = 0 studies); a meta-analysis needs at least {min_k} studies"
        )
    if (
        weights is None
        and y2.shape[1] >= min_k
        and np.isfinite(y2).all()
        and np.isfinite(v2).all()
        and v2.min() >= V_MIN
        and v2.max() <= V_MAX
        and np.abs(y2).max() <= Y_MAX
    ):
        # fast path (no study absent, every value in range): the checks below cannot fire
        return y2, v2, np.ones(y2.shape, dtype=bool), is_1d, None
    ny = np.isnan(y2)
    nv = np.isnan(v2)
    odd = ny ^ nv
    if odd.any():
        r, c = np.nonzero(odd)
        raise PlateauError(
            f"{y_name} and {v_name} must both be NaN (study absent) or both be given; "
            f"only one is NaN at {where_text(r, c, not is_1d)}"
        )
    bad = np.isinf(y2) | np.isinf(v2)
    if bad.any():
        r, c = np.nonzero(bad)
        raise PlateauError(
            f"{y_name}/{v_name} contain infinite values at {where_text(r, c, not is_1d)}"
        )
    mask = ~ny
    nonpos = mask & (v2 <= 0)
    if nonpos.any():
        r, c = np.nonzero(nonpos)
        raise PlateauError(
            f"{v_name} must be > 0 (sampling variances); non-positive at "
            f"{where_text(r, c, not is_1d)}"
        )
    # the engine forms w = 1/(v + tau2) and sums of w^3 r^2 in double precision: keep them finite
    out_v = mask & ((v2 < V_MIN) | (v2 > V_MAX))
    if out_v.any():
        r, c = np.nonzero(out_v)
        raise PlateauError(
            f"{v_name} outside [{V_MIN:g}, {V_MAX:g}] at {where_text(r, c, not is_1d)} "
            f"(got {v2[r[0], c[0]]:.3g}); such variances overflow double precision here, "
            "rescale the effect measure"
        )
    out_y = mask & (np.abs(y2) > Y_MAX)
    if out_y.any():
        r, c = np.nonzero(out_y)
        raise PlateauError(
            f"|{y_name}| > {Y_MAX:g} at {where_text(r, c, not is_1d)} (got {y2[r[0], c[0]]:.3g}); "
            "such effect sizes overflow double precision here, rescale the effect measure"
        )
    if is_1d and ny.any():
        c = np.nonzero(ny[0])[0]
        warnings.warn(
            f"{y_name}/{v_name} are NaN (missing) for {where_text(np.zeros_like(c), c, False)}; "
            f"{'this study is' if c.size == 1 else 'these studies are'} left out of the analysis "
            f"(k = {int(mask.sum())} of {mask.shape[1]})",
            MissingStudyWarning,
            stacklevel=3,
        )
    k = mask.sum(axis=1)
    few = np.nonzero(k < min_k)[0]
    if few.size:
        ks = ", ".join(str(int(k[r])) for r in few[:8])
        if is_1d:
            raise PlateauError(
                f"k = {int(k[0])} studies; this analysis needs at least {min_k} "
                f"stud{'y' if min_k == 1 else 'ies'}"
            )
        raise PlateauError(
            f"too few studies (k = {ks}) in {where_text(few, None, True)}; "
            f"each analysis needs at least {min_k} stud{'y' if min_k == 1 else 'ies'}"
        )
    w2 = None
    if weights is not None:
        w = _as_float_array("weights", weights)
        if w.shape != y.shape:
            raise PlateauError(
                f"weights has shape {w.shape} but {y_name} has shape {y.shape}; they must match"
            )
        w2 = np.atleast_2d(w)
        badw = mask & (~np.isfinite(w2) | (w2 < 0))
        if badw.any():
            r, c = np.nonzero(badw)
            raise PlateauError(
                f"weights must be finite and >= 0; invalid at {where_text(r, c, not is_1d)}"
            )
        zero = (np.where(mask, w2, 0.0) > 0).sum(axis=1) < 1
        if zero.any():
            raise PlateauError(
                f"weights are all zero in {where_text(np.nonzero(zero)[0], None, True)}"
            )
        w2 = np.where(mask, w2, 0.0)
    y2 = np.where(mask, y2, 0.0)
    v2 = np.where(mask, v2, 1.0)
    return y2, v2, mask, is_1d, w2


def as_output(value: Any, is_1d: bool) -> Any:
    """Strip the batch axis of a 1-D call: (1,) -> float, (1, ...) -> array."""
    if not is_1d:
        return value
    arr = np.asarray(value)
    if arr.ndim == 0:
        return arr.item()
    first = arr[0]
    if np.ndim(first) == 0:
        return first.item() if isinstance(first, np.generic) else first
    return first


def jsonable(value: Any) -> Any:
    """Convert floats/arrays/bools/dataclasses to JSON-ready Python values (NaN and inf -> None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()] if value.ndim else jsonable(value.item())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def warn_not_converged(what: str, rows: np.ndarray, is_1d: bool, iterations: int) -> None:
    where = "" if is_1d else f" in {where_text(rows, None, True)}"
    warnings.warn(
        f"{what} did not converge within {iterations} iterations{where}; "
        "see `converged` and treat those estimates with caution",
        ConvergenceWarning,
        stacklevel=3,
    )
