"""Analytes, their canonical units and the UCUM conversions plateau accepts.

Every numeric result is converted to one canonical unit per analyte before any rule runs:

=================  ============  ===========================================================
analyte            canonical     accepted units (factor to canonical)
=================  ============  ===========================================================
serum_m_protein    g/dL          g/dL (1), g/L (0.1)
urine_m_protein    mg/24h        mg/24h, mg/(24.h), mg/d (1); g/24h, g/(24.h), g/d (1000)
kappa_flc          mg/dL         mg/dL (1), mg/L (0.1)
lambda_flc         mg/dL         mg/dL (1), mg/L (0.1)
bm_plasma_cells    %             % (1)
anc, wbc,          10*9/L        10*9/L, 10^9/L, G/L, 10*3/uL, 10^3/uL, 10*3/mm3, K/uL (1);
platelets                        /uL, /mm3, cells/uL (0.001)
hemoglobin         g/dL          g/dL (1), g/L (0.1)
creatinine         mg/dL         mg/dL (1), umol/L (1/88.42)
calcium            mg/dL         mg/dL (1), mmol/L (4.0078)
plasmacytoma_spd   cm2           cm2 (1), mm2 (0.01): sum of the products of the diameters
=================  ============  ===========================================================

Qualitative analytes (``serum_ife``, ``urine_ife``, ``bm_clonal_cells``, ``new_bone_lesion``,
``new_plasmacytoma``) take ``positive``/``negative`` (or ``yes``/``no``) and no unit.

1 g/dL = 10 g/L and 1 mg/dL = 10 mg/L are unit arithmetic (UCUM); 10^9/L = 10^3/uL (UCUM;
CTCAE v5.0 lists both).  Creatinine: mg/dL = umol/L / 88.42 (C2, see
:data:`plateau.rules.citations.CREATININE_SI`).  Calcium: 1 mmol/L = 40.078 mg/L (IUPAC
atomic weight).  Haemoglobin in mmol/L is not accepted: CTCAE gives separate mmol/L cut-offs and
the clinical-rules spec forbids converting with an unsourced factor.

Plausibility limits (``PLAUSIBLE``) reject impossible values such as a negative count or a
haemoglobin of 80 g/dL; they are a plateau design choice, wide enough for any real result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUMERIC = "numeric"
QUALITATIVE = "qualitative"


@dataclass(frozen=True)
class Analyte:
    name: str
    kind: str
    canonical_unit: str
    units: dict  # accepted unit (case-sensitive UCUM-like spelling) -> factor to canonical
    plausible: tuple[float, float] | None  # inclusive range in canonical unit
    role: str  # "disease", "cbc", "chemistry", "event"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "canonical_unit": self.canonical_unit,
            "units": dict(self.units),
            "plausible": list(self.plausible) if self.plausible else None,
            "role": self.role,
        }


_COUNT_UNITS = {
    "10*9/L": 1.0,
    "10^9/L": 1.0,
    "10e9/L": 1.0,
    "G/L": 1.0,
    "10*3/uL": 1.0,
    "10^3/uL": 1.0,
    "10*3/mm3": 1.0,
    "10^3/mm3": 1.0,
    "K/uL": 1.0,
    "/uL": 1e-3,
    "/mm3": 1e-3,
    "cells/uL": 1e-3,
    "{cells}/uL": 1e-3,
}
_QUAL = {"": 1.0, "{qual}": 1.0}

ANALYTES: dict[str, Analyte] = {
    a.name: a
    for a in (
        Analyte(
            "serum_m_protein", NUMERIC, "g/dL", {"g/dL": 1.0, "g/L": 0.1}, (0.0, 20.0), "disease"
        ),
        Analyte(
            "urine_m_protein",
            NUMERIC,
            "mg/24h",
            {
                "mg/24h": 1.0,
                "mg/(24.h)": 1.0,
                "mg/d": 1.0,
                "g/24h": 1000.0,
                "g/(24.h)": 1000.0,
                "g/d": 1000.0,
            },
            (0.0, 100000.0),
            "disease",
        ),
        Analyte(
            "kappa_flc", NUMERIC, "mg/dL", {"mg/dL": 1.0, "mg/L": 0.1}, (0.0, 100000.0), "disease"
        ),
        Analyte(
            "lambda_flc", NUMERIC, "mg/dL", {"mg/dL": 1.0, "mg/L": 0.1}, (0.0, 100000.0), "disease"
        ),
        Analyte("serum_ife", QUALITATIVE, "", _QUAL, None, "disease"),
        Analyte("urine_ife", QUALITATIVE, "", _QUAL, None, "disease"),
        Analyte("bm_plasma_cells", NUMERIC, "%", {"%": 1.0}, (0.0, 100.0), "disease"),
        Analyte("bm_clonal_cells", QUALITATIVE, "", _QUAL, None, "disease"),
        Analyte("new_bone_lesion", QUALITATIVE, "", _QUAL, None, "disease"),
        Analyte("new_plasmacytoma", QUALITATIVE, "", _QUAL, None, "disease"),
        Analyte("anc", NUMERIC, "10*9/L", _COUNT_UNITS, (0.0, 500.0), "cbc"),
        Analyte("platelets", NUMERIC, "10*9/L", _COUNT_UNITS, (0.0, 5000.0), "cbc"),
        Analyte("wbc", NUMERIC, "10*9/L", _COUNT_UNITS, (0.0, 1000.0), "cbc"),
        Analyte("hemoglobin", NUMERIC, "g/dL", {"g/dL": 1.0, "g/L": 0.1}, (0.0, 25.0), "cbc"),
        Analyte(
            "creatinine",
            NUMERIC,
            "mg/dL",
            {"mg/dL": 1.0, "umol/L": 1.0 / 88.42, "µmol/L": 1.0 / 88.42},
            (0.0, 40.0),
            "chemistry",
        ),
        Analyte(
            "calcium", NUMERIC, "mg/dL", {"mg/dL": 1.0, "mmol/L": 4.0078}, (0.0, 30.0), "chemistry"
        ),
        Analyte(
            "plasmacytoma_spd",
            NUMERIC,
            "cm2",
            {"cm2": 1.0, "mm2": 0.01},
            (0.0, 10000.0),
            "disease",
        ),
    )
}

ANALYTE_NAMES: tuple[str, ...] = tuple(ANALYTES)
ANALYTE_CODE: dict[str, int] = {name: i for i, name in enumerate(ANALYTE_NAMES)}

POSITIVE_WORDS = ("positive", "pos", "yes", "true", "1", "detected")
NEGATIVE_WORDS = ("negative", "neg", "no", "false", "0", "not detected")

# Dense lookup tables indexed by [analyte code, unit code] for vectorised conversion.
UNIT_NAMES: tuple[str, ...] = tuple(sorted({u for a in ANALYTES.values() for u in a.units}))
UNIT_CODE: dict[str, int] = {u: i for i, u in enumerate(UNIT_NAMES)}
FACTOR = np.full((len(ANALYTE_NAMES), len(UNIT_NAMES)), np.nan)
for _a in ANALYTES.values():
    for _u, _f in _a.units.items():
        FACTOR[ANALYTE_CODE[_a.name], UNIT_CODE[_u]] = _f
PLAUSIBLE_LOW = np.array([a.plausible[0] if a.plausible else -np.inf for a in ANALYTES.values()])
PLAUSIBLE_HIGH = np.array([a.plausible[1] if a.plausible else np.inf for a in ANALYTES.values()])
IS_QUALITATIVE = np.array([a.kind == QUALITATIVE for a in ANALYTES.values()])


def to_canonical(analyte: str, value: float, unit: str) -> float:
    """Convert one value to the analyte's canonical unit (scalar helper; the engine vectorises).

    >>> round(to_canonical("serum_m_protein", 12.0, "g/L"), 12)  # 12 g/L = 1.2 g/dL
    1.2
    """
    from plateau.errors import PlateauError

    if analyte not in ANALYTES:
        raise PlateauError(f"unknown analyte {analyte!r}; known: {', '.join(ANALYTE_NAMES)}")
    a = ANALYTES[analyte]
    if unit not in a.units:
        raise PlateauError(
            f"unknown unit {unit!r} for {analyte}; accepted: {', '.join(repr(u) for u in a.units)}"
        )
    return float(value) * a.units[unit]


def convert(analyte_code: np.ndarray, unit_code: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Vectorised conversion: ``value * FACTOR[analyte, unit]`` (NaN where the pair is not
    accepted)."""
    return value * FACTOR[analyte_code, unit_code]
