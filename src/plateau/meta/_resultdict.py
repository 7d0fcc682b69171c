"""Small helpers shared by the result objects of ``mh``, ``sensitivity`` and ``bias``.

Private module: converting NumPy values to JSON-ready Python values and formatting numbers
for ``summary()`` texts.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from plateau.errors import PlateauError
from plateau.meta._common import jsonable


def dataclass_dict(obj: Any) -> dict[str, Any]:
    """``to_dict()`` for a frozen dataclass result: every field, JSON-ready."""
    return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def fmt(value: Any, digits: int = 4) -> str:
    """Format a scalar for a summary line (``NA`` for missing values)."""
    if value is None:
        return "NA"
    value = float(value)
    if math.isnan(value):
        return "NA"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def fmt_p(value: Any) -> str:
    """Format a p-value as metafor prints it (``<.0001`` below 1e-4)."""
    if value is None or math.isnan(float(value)):
        return "NA"
    value = float(value)
    return "<.0001" if value < 1e-4 else f"{value:.4f}"


def check_level(level: float) -> float:
    """Validate a confidence level given as a fraction in (0, 1)."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise PlateauError(f"level must be a number in (0, 1), got {level!r}") from None
    if not (0.0 < level < 1.0):
        raise PlateauError(f"level must be in (0, 1) (e.g. 0.95), got {level!r}")
    return level
