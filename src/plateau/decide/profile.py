"""A patient's profile for shared decision-making, validated with precise messages.

Every field is checked on its own and all problems are reported together: :class:`ProfileError`
(a :class:`plateau.errors.PlateauError`) carries ``errors``, a list of ``(field, message)``
pairs, and its text is ``"field: message; field: message"``.  Unknown fields are rejected (a
misspelt ``"agee"`` must not silently vanish).

Renal function
--------------
Creatinine clearance is either given (``crcl_ml_min``, e.g. measured) or computed by
Cockcroft-Gault from age, weight, sex and serum creatinine (Cockcroft & Gault, Nephron
1976;16:31): ``CLcr = (140 - age) * weight_kg / (72 * SCr[mg/dL])``, times 0.85 for women,
with actual body weight (plateau's clinical-rules spec section 3.6, C2); creatinine in
umol/L is converted with ``mg/dL = umol/L / 88.42`` (same section, C2).  The formula is
:func:`plateau.rules.dosing.cockcroft_gault` (one implementation for the whole project).

Staging consistency (R-ISS definition, Palumbo et al., J Clin Oncol 2015, as restated by ASH,
https://thehematologist.org/multiple-myeloma-iss-and-r-iss/, C1): R-ISS I needs ISS I and
standard-risk cytogenetics (no del(17p), t(4;14) or t(14;16)); R-ISS III needs ISS III.  A
profile that contradicts this is rejected, naming both fields.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from plateau.errors import PlateauError

__all__ = [
    "Profile",
    "ProfileError",
    "parse_profile",
    "profile_from_form",
    "load_profile",
    "PROFILE_FIELDS",
    "CHOICES",
]

CREATININE_UMOL_PER_MG_DL = 88.42  #: spec section 3.6 (C2)

CHOICES: dict[str, tuple[str, ...]] = {
    "sex": ("female", "male"),
    "transplant_status": ("post_asct", "not_eligible"),
    "response": ("sCR", "CR", "VGPR", "PR"),
    "mrd_status": ("negative", "positive", "unknown"),
    "iss_stage": ("I", "II", "III"),
    "r_iss_stage": ("I", "II", "III"),
    "r2_iss_stage": ("I", "II", "III", "IV"),
    "frailty": ("fit", "intermediate", "frail"),
    "prefer_route": ("oral", "injection", "no_preference"),
    "prefer_visits": ("fewer", "no_preference"),
    "prefer_duration": ("fixed", "until_progression", "no_preference"),
}

CHOICE_LABELS: dict[str, dict[str, str]] = {
    "sex": {"female": "female", "male": "male"},
    "transplant_status": {
        "post_asct": "after autologous stem-cell transplant (ASCT)",
        "not_eligible": "not eligible for transplant",
    },
    "response": {
        "sCR": "stringent complete response (sCR)",
        "CR": "complete response (CR)",
        "VGPR": "very good partial response (VGPR)",
        "PR": "partial response (PR)",
    },
    "mrd_status": {"negative": "MRD negative", "positive": "MRD positive", "unknown": "not known"},
    "frailty": {
        "fit": "fit (score 0)",
        "intermediate": "intermediate fitness (score 1)",
        "frail": "frail (score 2 or more)",
    },
    "prefer_route": {
        "oral": "tablets or capsules",
        "injection": "injections or infusions",
        "no_preference": "no preference",
    },
    "prefer_visits": {
        "fewer": "as few clinic visits as possible",
        "no_preference": "no preference",
    },
    "prefer_duration": {
        "fixed": "a fixed, limited duration",
        "until_progression": "continuous, until progression",
        "no_preference": "no preference",
    },
}


class ProfileError(PlateauError):
    """Invalid profile; ``errors`` lists ``(field, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]], origin: str = "profile") -> None:
        self.errors = list(errors)
        self.origin = origin
        text = "; ".join(f"{f}: {m}" for f, m in self.errors)
        super().__init__(f"{origin}: {text}" if origin else text)

    def to_dict(self) -> list[dict[str, str]]:
        return [{"field": f, "message": m} for f, m in self.errors]


@dataclass(frozen=True)
class Profile:
    """A validated patient profile (all values plain Python, JSON-ready through :meth:`to_dict`)."""

    age: int
    sex: str
    transplant_status: str
    response: str
    mrd_status: str = "unknown"
    del_17p: bool | None = None
    t_4_14: bool | None = None
    t_14_16: bool | None = None
    gain_1q: bool | None = None
    iss_stage: str | None = None
    r_iss_stage: str | None = None
    r2_iss_stage: str | None = None
    frailty: str | None = None
    neuropathy_grade: int = 0
    neuropathic_pain: bool = False
    thromboembolism_history: bool = False
    #: other VTE risk factors of the IMWG risk-assessment model (Palumbo, Leukemia 2008)
    central_venous_catheter: bool = False
    diabetes: bool = False
    cardiac_disease: bool = False
    infection_now: bool = False
    immobilisation: bool = False
    recent_surgery: bool = False
    inherited_thrombophilia: bool = False
    weight_kg: float | None = None
    creatinine_mg_dl: float | None = None
    creatinine_umol_l: float | None = None
    crcl_ml_min: float | None = None
    dialysis: bool = False
    previous_second_cancer: bool = False
    prefer_route: str = "no_preference"
    prefer_visits: str = "no_preference"
    prefer_duration: str = "no_preference"
    label: str | None = (
        None  #: free text shown on the handout (e.g. initials); never used in calculations
    )

    # -- derived -----------------------------------------------------------------------------

    @property
    def setting(self) -> str:
        """Evidence setting: ``post_asct`` or ``non_transplant``."""
        return "post_asct" if self.transplant_status == "post_asct" else "non_transplant"

    @property
    def creatinine_clearance(self) -> float | None:
        """CLcr in mL/min: Cockcroft-Gault when weight and creatinine are given, else
        ``crcl_ml_min``."""
        scr = self.creatinine_mg_dl
        if scr is None and self.creatinine_umol_l is not None:
            scr = self.creatinine_umol_l / CREATININE_UMOL_PER_MG_DL
        if self.weight_kg is not None and scr is not None:
            from plateau.rules.dosing import cockcroft_gault

            return float(cockcroft_gault(self.age, self.weight_kg, scr, self.sex == "female"))
        return self.crcl_ml_min

    @property
    def crcl_method(self) -> str | None:
        if self.weight_kg is not None and (
            self.creatinine_mg_dl is not None or self.creatinine_umol_l is not None
        ):
            return "Cockcroft-Gault (actual body weight)"
        if self.crcl_ml_min is not None:
            return "as entered"
        return None

    @property
    def high_risk_cytogenetics(self) -> list[str]:
        """High-risk abnormalities present (R-ISS definition: del(17p), t(4;14), t(14;16))."""
        names = {"del_17p": "del(17p)", "t_4_14": "t(4;14)", "t_14_16": "t(14;16)"}
        return [label for name, label in names.items() if getattr(self, name)]

    @property
    def cytogenetics_known(self) -> bool:
        return all(getattr(self, n) is not None for n in ("del_17p", "t_4_14", "t_14_16"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        cyto = ", ".join(self.high_risk_cytogenetics) or (
            "standard risk" if self.cytogenetics_known else "not known"
        )
        crcl = self.creatinine_clearance
        parts = [
            f"{self.age}-year-old {self.sex}",
            CHOICE_LABELS["transplant_status"][self.transplant_status],
            f"response {self.response}",
            f"high-risk cytogenetics: {cyto}",
        ]
        if self.r_iss_stage:
            parts.append(f"R-ISS {self.r_iss_stage}")
        if self.frailty:
            parts.append(f"IMWG frailty: {self.frailty}")
        if self.neuropathy_grade:
            parts.append(f"neuropathy grade {self.neuropathy_grade}")
        if crcl is not None:
            parts.append(f"CLcr {crcl:.0f} mL/min")
        return "; ".join(parts)


PROFILE_FIELDS = tuple(f.name for f in fields(Profile))
_REQUIRED = ("age", "sex", "transplant_status", "response")
_BOOLS = (
    "del_17p",
    "t_4_14",
    "t_14_16",
    "gain_1q",
    "neuropathic_pain",
    "thromboembolism_history",
    "dialysis",
    "previous_second_cancer",
    "central_venous_catheter",
    "diabetes",
    "cardiac_disease",
    "infection_now",
    "immobilisation",
    "recent_surgery",
    "inherited_thrombophilia",
)
#: IMWG VTE risk factors besides history and age (field -> plain words)
VTE_FACTORS = {
    "central_venous_catheter": "central venous catheter",
    "diabetes": "diabetes",
    "cardiac_disease": "heart disease",
    "infection_now": "current infection",
    "immobilisation": "immobility",
    "recent_surgery": "recent surgery",
    "inherited_thrombophilia": "inherited thrombophilia",
}
_NULLABLE_BOOLS = ("del_17p", "t_4_14", "t_14_16", "gain_1q")
_RANGES: dict[str, tuple[float, float, str]] = {
    "weight_kg": (25.0, 300.0, "kg"),
    "creatinine_mg_dl": (0.1, 20.0, "mg/dL"),
    "creatinine_umol_l": (9.0, 1800.0, "umol/L"),
    "crcl_ml_min": (1.0, 250.0, "mL/min"),
}
_FIELD_HELP = {
    "del_17p": "del(17p)",
    "t_4_14": "t(4;14)",
    "t_14_16": "t(14;16)",
    "gain_1q": "1q gain/amplification",
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def parse_profile(data: Any, origin: str = "profile") -> Profile:
    """Validate a mapping of profile fields; raise :class:`ProfileError` listing every problem.

    Choice fields take the values in :data:`CHOICES` (``response`` is case-sensitive as in IMWG:
    ``sCR``, ``CR``, ``VGPR``, ``PR``).  Cytogenetic fields take ``true``/``false`` or ``null``
    (not tested / not known).  Missing optional fields take their defaults.
    """
    if not isinstance(data, dict):
        raise ProfileError(
            [("(profile)", f"expected a JSON object of fields, not {type(data).__name__}")], origin
        )
    errors: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for key in data:
        if key not in PROFILE_FIELDS:
            errors.append((str(key), f"unknown field; allowed fields: {', '.join(PROFILE_FIELDS)}"))
    for name in _REQUIRED:
        if data.get(name) in (None, ""):
            errors.append((name, "is required"))

    # age
    raw = data.get("age")
    if raw not in (None, ""):
        number = _number(raw)
        if number is None or not float(number).is_integer():
            errors.append(("age", f"must be a whole number of years (got {raw!r})"))
        elif not 18 <= number <= 110:
            errors.append(("age", f"must be between 18 and 110 years (got {number:g})"))
        else:
            values["age"] = int(number)

    # choices
    for name, allowed in CHOICES.items():
        raw = data.get(name)
        if raw in (None, ""):
            continue
        if raw not in allowed:
            hint = ""
            if isinstance(raw, str):
                folded = {a.lower(): a for a in allowed}
                if raw.strip().lower() in folded:
                    hint = f" (did you mean {folded[raw.strip().lower()]!r}?)"
            errors.append((name, f"must be one of {', '.join(allowed)} (got {raw!r}){hint}"))
        else:
            values[name] = raw

    # booleans
    for name in _BOOLS:
        raw = data.get(name)
        if raw is None or (raw == "" and name in _NULLABLE_BOOLS):
            continue
        if isinstance(raw, bool):
            values[name] = raw
        else:
            what = "true, false or null (not known)" if name in _NULLABLE_BOOLS else "true or false"
            errors.append((name, f"must be {what} (got {raw!r})"))

    # neuropathy grade (CTCAE v5 peripheral sensory neuropathy, 0-4)
    raw = data.get("neuropathy_grade")
    if raw not in (None, ""):
        number = _number(raw)
        if number is None or not float(number).is_integer() or not 0 <= number <= 4:
            errors.append(
                ("neuropathy_grade", f"must be a CTCAE grade 0, 1, 2, 3 or 4 (got {raw!r})")
            )
        else:
            values["neuropathy_grade"] = int(number)

    # measurements
    for name, (low, high, unit) in _RANGES.items():
        raw = data.get(name)
        if raw in (None, ""):
            continue
        number = _number(raw)
        if number is None:
            errors.append((name, f"must be a number in {unit} (got {raw!r})"))
        elif not low <= number <= high:
            errors.append((name, f"must be between {low:g} and {high:g} {unit} (got {number:g})"))
        else:
            values[name] = number

    label = data.get("label")
    if label not in (None, ""):
        if not isinstance(label, str) or len(label) > 160:
            errors.append(("label", "must be text of at most 160 characters"))
        else:
            values["label"] = label

    # cross-field rules
    if "creatinine_mg_dl" in values and "creatinine_umol_l" in values:
        errors.append(("creatinine_umol_l", "give creatinine in mg/dL or in umol/L, not both"))
    has_creatinine = "creatinine_mg_dl" in values or "creatinine_umol_l" in values
    if has_creatinine and "weight_kg" not in values and not _bad(errors, "weight_kg"):
        errors.append(
            (
                "weight_kg",
                "is needed with creatinine to compute creatinine clearance (Cockcroft-Gault)",
            )
        )
    if (
        "weight_kg" in values
        and not has_creatinine
        and not (_bad(errors, "creatinine_mg_dl") or _bad(errors, "creatinine_umol_l"))
    ):
        errors.append(
            (
                "creatinine_mg_dl",
                "is needed with weight_kg to compute creatinine clearance "
                "(or give creatinine_umol_l)",
            )
        )
    if "crcl_ml_min" in values and has_creatinine and "weight_kg" in values:
        errors.append(
            (
                "crcl_ml_min",
                "give either crcl_ml_min or weight_kg with creatinine (computed by "
                "Cockcroft-Gault), not both",
            )
        )
    if values.get("neuropathic_pain") and values.get("neuropathy_grade", 0) == 0:
        errors.append(("neuropathic_pain", "neuropathic pain was ticked but neuropathy_grade is 0"))
    r_iss, iss = values.get("r_iss_stage"), values.get("iss_stage")
    if r_iss == "I":
        present = [_FIELD_HELP[n] for n in ("del_17p", "t_4_14", "t_14_16") if values.get(n)]
        if present:
            errors.append(
                (
                    "r_iss_stage",
                    f"R-ISS I requires standard-risk cytogenetics, but {', '.join(present)} "
                    "is marked present",
                )
            )
        if iss is not None and iss != "I":
            errors.append(("r_iss_stage", f"R-ISS I requires ISS I, but iss_stage is {iss}"))
    if r_iss == "III" and iss is not None and iss != "III":
        errors.append(("r_iss_stage", f"R-ISS III requires ISS III, but iss_stage is {iss}"))
    if errors:
        raise ProfileError(errors, origin)
    return Profile(**values)


def _bad(errors: list[tuple[str, str]], name: str) -> bool:
    return any(f == name for f, _ in errors)


_FORM_TRUE = ("true", "on", "yes", "1")
_FORM_FALSE = ("false", "off", "no", "0")


def profile_from_form(form: dict[str, str]) -> dict[str, Any]:
    """Turn HTML form strings into typed profile values (validated by :func:`parse_profile`).

    Checkboxes send ``on`` when ticked and nothing otherwise; cytogenetic selects send
    ``present``/``absent``/``""`` (not known).
    """
    data: dict[str, Any] = {}
    for key, raw in form.items():
        value = raw.strip() if isinstance(raw, str) else raw
        if key in _NULLABLE_BOOLS:
            data[key] = {"present": True, "absent": False, "": None}.get(value, value)
        elif key in _BOOLS:
            low = value.lower() if isinstance(value, str) else value
            data[key] = True if low in _FORM_TRUE else False if low in _FORM_FALSE else value
        elif value == "":
            continue
        else:
            data[key] = value
    for key in _BOOLS:
        if key not in _NULLABLE_BOOLS:
            data.setdefault(key, False)
    return data


def load_profile(path: str | Path) -> Profile:
    """Read and validate a JSON profile file; errors name the file and the field."""
    path = Path(path)
    if not path.is_file():
        raise PlateauError(f"{path}: no such profile file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PlateauError(
            f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    return parse_profile(data, origin=str(path))
