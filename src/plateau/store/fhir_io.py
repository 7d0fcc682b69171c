"""FHIR R4 import and export (``fhir.resources``, R4B models, which read R4 JSON).

Import reads a Bundle (any type) of

* ``Patient``: identifier (first ``identifier.value``; else the resource id) -> the clinic's
  patient id; ``name``, ``gender``, ``birthDate``;
* ``Observation`` with a LOINC code of :data:`plateau.store.codes.IMPORT` (or plateau's analyte
  code system) and a ``valueQuantity`` whose UCUM ``code`` (or ``unit``) is accepted for the
  analyte (:mod:`plateau.rules.units`), or for qualitative results a ``valueCodeableConcept``
  / ``valueString`` reading positive/negative; ``referenceRange`` low/high become the lab's limits;
* ``MedicationStatement`` / ``MedicationRequest`` of a maintenance agent (named in the
  medication's text or coding display): period start (or ``authoredOn``) and
  ``dosage[0].doseAndRate[0].doseQuantity`` give a dose record; status ``on-hold`` is an
  interruption, ``stopped``/``completed`` ends the line at the period end;
* ``Condition``: multiple myeloma (ICD-10 C90.0*) gives the diagnosis date (onset); a CTCAE term
  (``urn:plateau:ctcae-v5-term``) with a grade in ``severity`` (``urn:plateau:ctcae-v5-grade``)
  is an adverse event.

Other resource types are listed as problems, so nothing is silently dropped.  Subjects are
resolved through the bundle (``fullUrl`` or ``Patient/<id>``) or, for a patient already stored,
an identifier reference.  Export writes one patient as a ``collection`` Bundle of the same
resources (LOINC + UCUM where a code is known, plateau's analyte code always).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from plateau.monitor import ctcae as C
from plateau.rules import units as U
from plateau.store import codes
from plateau.store.records import DoseIn, EventIn, ImportData, LabIn, LineIn, PatientIn

SUPPORTED = ("Patient", "Observation", "MedicationStatement", "MedicationRequest", "Condition")
_POSITIVE = set(U.POSITIVE_WORDS)
_NEGATIVE = set(U.NEGATIVE_WORDS)


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:  # partial dates (YYYY, YYYY-MM) are not precise enough for monitoring
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _codings(concept):
    return list(concept.coding or []) if concept is not None else []


def _agent_of(concept) -> str | None:
    if concept is None:
        return None
    texts = [concept.text or ""] + [
        (c.display or "") + " " + (c.code or "") for c in _codings(concept)
    ]
    blob = " ".join(texts).lower()
    found = [a for a in codes.AGENTS if a in blob]
    return found[0] if len(found) == 1 else None


def _pydantic_problems(name: str, exc: ValidationError, raw: dict) -> list[str]:
    out = []
    entries = raw.get("entry") if isinstance(raw, dict) else None
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = name
        if len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
            rtype = "?"
            if (
                isinstance(entries, list)
                and loc[1] < len(entries)
                and isinstance(entries[loc[1]], dict)
            ):
                res = entries[loc[1]].get("resource")
                rtype = res.get("resourceType", "?") if isinstance(res, dict) else "?"
            where = f"{name}: entry {loc[1]} ({rtype})"
            loc = loc[2:]
            if loc and loc[0] == "resource":
                loc = loc[1:]
        else:
            where = f"{name}: Bundle"
        field = ".".join(str(p) for p in loc) or "(resource)"
        out.append(f"{where}, field '{field}': {err.get('msg', 'invalid')}")
    return out


def _known_resource_type(rtype) -> bool:
    """Whether ``rtype`` names a FHIR resource model (``fhir.resources`` R4B)."""
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(rtype, str) or not rtype.isalpha() or len(rtype) > 64:
        return False
    try:
        get_fhir_model_class(rtype)
    except (KeyError, ValueError):
        return False
    return True


def read_bundle(name: str, content: bytes | str) -> ImportData:
    """Read a FHIR R4 Bundle (JSON).  Every problem is listed in ``ImportData.problems``."""
    from fhir.resources.R4B.bundle import Bundle

    data = ImportData(format="fhir")
    raw_bytes = content.encode() if isinstance(content, str) else content
    data.files[name] = hashlib.sha256(raw_bytes).hexdigest()
    problems = data.problems
    try:
        raw = json.loads(raw_bytes.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: > 4300 digits
        problems.append(f"{name}: not JSON ({type(exc).__name__}: {str(exc)[:120]})")
        return data
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        problems.append(f"{name}: a FHIR Bundle is expected (resourceType 'Bundle')")
        return data
    entries_raw = raw.get("entry")
    for i, entry in enumerate(entries_raw if isinstance(entries_raw, list) else []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and not _known_resource_type(resource.get("resourceType")):
            problems.append(
                f"{name}: entry {i}, field 'resource.resourceType': missing or not a FHIR "
                f"R4 resource type ({str(resource.get('resourceType'))[:40]!r})"
            )
    if problems:
        return data
    try:
        bundle = Bundle.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(name, exc, raw))
        return data
    except KeyError as exc:  # fhir.resources: a resourceType it does not know
        problems.append(f"{name}: an entry has an unknown FHIR resourceType ({str(exc)[:80]})")
        return data
    except (ValueError, TypeError, RecursionError) as exc:
        problems.append(f"{name}: not a valid FHIR Bundle ({type(exc).__name__}: {str(exc)[:160]})")
        return data

    entries = list(bundle.entry or [])
    refs: dict[str, str] = {}  # reference -> patient external id
    patients_seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        res: Any = entry.resource
        if res is None or res.get_resource_type() != "Patient":
            continue
        where = f"{name}: entry {i} (Patient)"
        ext = next((ident.value for ident in (res.identifier or []) if ident.value), None) or res.id
        if not ext:
            problems.append(
                f"{where}, field 'identifier': an identifier value or a resource id is required"
            )
            continue
        if ext in patients_seen:
            problems.append(
                f"{where}, field 'identifier': patient {ext!r} appears twice (entry "
                f"{patients_seen[ext]})"
            )
            continue
        patients_seen[ext] = i
        for ref in (entry.fullUrl, f"Patient/{res.id}" if res.id else None):
            if ref:
                refs[ref] = ext
        for ident in res.identifier or []:
            if ident.value:
                refs[f"Patient?identifier={ident.value}"] = ext
                if ident.system:
                    refs[f"Patient?identifier={ident.system}|{ident.value}"] = ext
        name_text = None
        if res.name:
            n = res.name[0]
            name_text = n.text or " ".join([*(n.given or []), n.family or ""]).strip() or None
        sex = {"male": "M", "female": "F"}.get(res.gender or "")
        data.patients.append(
            PatientIn(ext, where, name=name_text, birth_date=_as_date(res.birthDate), sex=sex)
        )

    def subject_of(res, where: str, field: str = "subject") -> str | None:
        ref = getattr(res, field, None)
        target = None
        if ref is not None:
            if ref.reference:
                target = refs.get(ref.reference)
                if target is None and ref.reference.startswith("Patient?identifier="):
                    target = ref.reference.split("=", 1)[1].split("|")[-1]  # a stored patient
            elif ref.identifier is not None and ref.identifier.value:
                target = refs.get(
                    f"Patient?identifier={ref.identifier.value}", ref.identifier.value
                )
        if target is None:
            shown = ref.reference if ref is not None and ref.reference else "the missing reference"
            problems.append(
                f"{where}, field '{field}': no Patient in the bundle (or identifier) matches "
                f"{shown!r}"
            )
        return target

    lines: dict[tuple[str, str], dict] = {}
    for i, entry in enumerate(entries):
        res = entry.resource
        if res is None:
            problems.append(f"{name}: entry {i}, field 'resource': missing")
            continue
        rtype = res.get_resource_type()
        where = f"{name}: entry {i} ({rtype})"
        if rtype == "Patient":
            continue
        if rtype not in SUPPORTED:
            problems.append(
                f"{where}: resource type not imported (supported: {', '.join(SUPPORTED)})"
            )
            continue
        if rtype == "Observation":
            _observation(res, where, subject_of, data)
        elif rtype in ("MedicationStatement", "MedicationRequest"):
            _medication(res, rtype, where, subject_of, data, lines)
        elif rtype == "Condition":
            _condition(res, where, subject_of, data)
    for (ext, agent), line in lines.items():
        data.lines.append(LineIn(ext, line["where"], agent, line["start"], line["stop"]))
    return data


def _observation(res, where, subject_of, data: ImportData) -> None:
    problems = data.problems
    if res.status in ("cancelled", "entered-in-error"):
        return  # not a result
    analyte = loinc = None
    for c in _codings(res.code):
        if c.system == codes.LOINC and c.code in codes.IMPORT:
            analyte, loinc = codes.IMPORT[c.code].analyte, c.code
            break
        if c.system == codes.PLATEAU_ANALYTE and c.code in U.ANALYTES:
            analyte = c.code
    shown = ", ".join(f"{c.system}|{c.code}" for c in _codings(res.code)) or (
        res.code.text or "no coding"
    )
    subject = subject_of(res, where)
    date = _as_date(res.effectiveDateTime) or (
        _as_date(res.effectivePeriod.start) if res.effectivePeriod else None
    )
    if analyte is None:
        problems.append(f"{where}, field 'code': no supported LOINC code ({shown})")
        return
    if date is None:
        problems.append(f"{where}, field 'effectiveDateTime': a full date is required")
        return
    a = U.ANALYTES[analyte]
    lln = uln = None
    if a.kind == U.QUALITATIVE:
        text = None
        if res.valueCodeableConcept is not None:
            vc = res.valueCodeableConcept
            text = vc.text or next(
                (c.display or c.code for c in _codings(vc) if c.display or c.code), None
            )
        elif res.valueString is not None:
            text = res.valueString
        elif res.valueBoolean is not None:
            text = "positive" if res.valueBoolean else "negative"
        word = (text or "").strip().lower()
        if word not in _POSITIVE and word not in _NEGATIVE:
            problems.append(
                f"{where}, field 'value[x]': {text!r} is not positive/negative for {analyte}"
            )
            return
        value, unit = (1.0 if word in _POSITIVE else 0.0), ""
    else:
        q = res.valueQuantity
        if q is None or q.value is None:
            problems.append(
                f"{where}, field 'valueQuantity': a numeric value is required for {analyte}"
            )
            return
        ucum = q.code or q.unit or ""
        if ucum not in a.units:
            problems.append(
                f"{where}, field 'valueQuantity.code': unit {ucum!r} is not accepted for {analyte} "
                f"(accepted: {', '.join(a.units)})"
            )
            return
        factor = a.units[ucum]
        value = float(q.value) * factor
        lo, hi = a.plausible or (-math.inf, math.inf)
        if not (lo <= value <= hi):
            problems.append(
                f"{where}, field 'valueQuantity.value': impossible value {q.value} {ucum} for "
                f"{analyte}: outside the plausible range {lo:g}-{hi:g} {a.canonical_unit}"
            )
            return
        unit = a.canonical_unit
        for rr in res.referenceRange or []:
            if rr.low is not None and rr.low.value is not None:
                lln = float(rr.low.value) * a.units.get(rr.low.code or rr.low.unit or ucum, factor)
            if rr.high is not None and rr.high.value is not None:
                uln = float(rr.high.value) * a.units.get(
                    rr.high.code or rr.high.unit or ucum, factor
                )
            break
    if subject is None:
        return
    data.labs.append(LabIn(subject, where, date, analyte, value, unit, lln, uln, loinc))


def _medication(res, rtype, where, subject_of, data: ImportData, lines: dict) -> None:
    problems = data.problems
    subject = subject_of(res, where)
    agent = _agent_of(res.medicationCodeableConcept)
    if agent is None:
        problems.append(
            f"{where}, field 'medicationCodeableConcept': not one maintenance agent "
            f"({', '.join(codes.AGENTS)}); a medicationReference is not resolved"
        )
        return
    if rtype == "MedicationStatement":
        period = res.effectivePeriod
        start = _as_date(period.start) if period else _as_date(res.effectiveDateTime)
        end = _as_date(period.end) if period else None
        dosages = res.dosage or []
    else:
        period = res.dispenseRequest.validityPeriod if res.dispenseRequest else None
        start = (_as_date(period.start) if period else None) or _as_date(res.authoredOn)
        end = _as_date(period.end) if period else None
        dosages = res.dosageInstruction or []
    if start is None:
        problems.append(f"{where}, field 'effectivePeriod.start': a start date is required")
        return
    dose = unit = None
    for dosage in dosages:
        for dr in dosage.doseAndRate or []:
            if dr.doseQuantity is not None and dr.doseQuantity.value is not None:
                dose = float(dr.doseQuantity.value)
                unit = dr.doseQuantity.code or dr.doseQuantity.unit or "mg"
                break
        if dose is not None:
            break
    if unit is not None and unit not in ("mg", "mg/m2"):
        problems.append(
            f"{where}, field 'dosage.doseAndRate.doseQuantity.code': unit {unit!r} (mg or mg/m2)"
        )
        return
    if dose is not None and not 0 <= dose <= 1000:
        problems.append(
            f"{where}, field 'dosage.doseAndRate.doseQuantity.value': {dose:g} is not a dose 0-1000"
        )
        return
    status = (res.status or "").lower()
    if status in ("entered-in-error", "cancelled", "draft", "not-taken"):
        return
    if subject is None:
        return
    action = "hold" if status == "on-hold" else ("start" if dose is not None else "resume")
    unit = unit or ("mg/m2" if agent == "bortezomib" else "mg")
    line = lines.setdefault((subject, agent), {"where": where, "start": start, "stop": None})
    line["start"] = min(line["start"], start)
    data.doses.append(DoseIn(subject, where, agent, None, start, action, dose, unit))
    if status in ("stopped", "completed") and end is not None:
        line["stop"] = max(line["stop"] or end, end)
        data.doses.append(DoseIn(subject, where, agent, None, end, "stop", None, unit))


def _condition(res, where, subject_of, data: ImportData) -> None:
    problems = data.problems
    subject = subject_of(res, where)
    onset = _as_date(res.onsetDateTime) or _as_date(res.recordedDate)
    for c in _codings(res.code):
        if c.system == codes.ICD10 and (c.code or "").replace(".", "").startswith("C900"):
            if onset is None:
                problems.append(f"{where}, field 'onsetDateTime': the diagnosis date is required")
            elif subject is not None:
                data.patients.append(PatientIn(subject, where, diagnosis_date=onset))
            return
        if c.system == codes.CTCAE_TERM:
            term = (c.code or "").lower()
            if term not in C.EVENT_TERMS:
                problems.append(f"{where}, field 'code': unknown CTCAE term {c.code!r}")
                return
            grade = next(
                (g.code for g in _codings(res.severity) if g.system == codes.CTCAE_GRADE), None
            )
            allowed = C.EVENT_TERMS[term].grades
            if grade is None or not grade.isdigit() or int(grade) not in allowed:
                problems.append(
                    f"{where}, field 'severity': grade {grade!r} is not defined for {term} in "
                    f"CTCAE v5.0 (defined: {', '.join(str(g) for g in allowed)})"
                )
                return
            if onset is None:
                problems.append(
                    f"{where}, field 'onsetDateTime': the date of the adverse event is required"
                )
                return
            if subject is not None:
                data.events.append(EventIn(subject, where, onset, term, int(grade), False))
            return
    problems.append(
        f"{where}, field 'code': neither multiple myeloma (ICD-10 C90.0) nor a CTCAE term"
    )


# ---- export ------------------------------------------------------------------------------------


def _num(x: float):
    d = Decimal(repr(float(x)))
    return int(d) if d == d.to_integral_value() and abs(d) < 1e15 else float(d)


def export_patient(session, patient) -> dict:
    """One patient's record as a FHIR R4 ``collection`` Bundle (validated by fhir.resources)."""
    from fhir.resources.R4B.bundle import Bundle
    from sqlalchemy import select

    from plateau.store.models import AdverseEvent, LabResult

    pref = f"urn:uuid:plateau-patient-{patient.id}"
    entries = []
    pat = {
        "resourceType": "Patient",
        "id": f"p{patient.id}",
        "identifier": [{"system": codes.PLATEAU_PATIENT, "value": patient.external_id}],
    }
    if patient.name:
        pat["name"] = [{"text": patient.name}]
    if patient.sex in ("M", "F"):
        pat["gender"] = {"M": "male", "F": "female"}[patient.sex]
    if patient.birth_date:
        pat["birthDate"] = patient.birth_date.isoformat()
    entries.append({"fullUrl": pref, "resource": pat})
    subject = {"reference": pref}
    if patient.diagnosis_date:
        entries.append(
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": subject,
                    "onsetDateTime": patient.diagnosis_date.isoformat(),
                    "code": {
                        "coding": [
                            {"system": codes.ICD10, "code": "C90.0", "display": "Multiple myeloma"}
                        ]
                    },
                }
            }
        )
    for lab in session.scalars(
        select(LabResult)
        .where(LabResult.patient_id == patient.id)
        .order_by(LabResult.date, LabResult.analyte)
    ):
        coding = []
        loinc = codes.EXPORT.get(lab.analyte)
        if loinc:
            coding.append({"system": codes.LOINC, "code": loinc.code, "display": loinc.display})
        coding.append({"system": codes.PLATEAU_ANALYTE, "code": lab.analyte})
        obs = {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "code": {"coding": coding},
            "subject": subject,
            "effectiveDateTime": lab.date.isoformat(),
        }
        if U.ANALYTES[lab.analyte].kind == U.QUALITATIVE:
            obs["valueCodeableConcept"] = {"text": "positive" if lab.value >= 0.5 else "negative"}
        else:
            ucum = codes.UCUM_EXPORT.get(lab.unit, lab.unit)
            obs["valueQuantity"] = {
                "value": _num(lab.value),
                "unit": lab.unit,
                "system": codes.UCUM,
                "code": ucum,
            }
            rr = {}
            if lab.lln is not None:
                rr["low"] = {
                    "value": _num(lab.lln),
                    "unit": lab.unit,
                    "system": codes.UCUM,
                    "code": ucum,
                }
            if lab.uln is not None:
                rr["high"] = {
                    "value": _num(lab.uln),
                    "unit": lab.unit,
                    "system": codes.UCUM,
                    "code": ucum,
                }
            if rr:
                obs["referenceRange"] = [rr]
        entries.append({"resource": obs})
    for line in patient.lines:
        doses = list(line.doses)
        for k, d in enumerate(doses):
            if d.action == "stop":
                continue
            nxt = next((x.date for x in doses[k + 1 :]), None) or line.stop_date
            ms: dict[str, Any] = {
                "resourceType": "MedicationStatement",
                "subject": subject,
                "status": "on-hold"
                if d.action == "hold"
                else ("active" if nxt is None else "completed"),
                "medicationCodeableConcept": {"text": line.agent},
                "effectivePeriod": {
                    "start": d.date.isoformat(),
                    **({"end": nxt.isoformat()} if nxt else {}),
                },
            }
            if d.dose is not None:
                ms["dosage"] = [
                    {
                        "doseAndRate": [
                            {
                                "doseQuantity": {
                                    "value": _num(d.dose),
                                    "unit": d.unit,
                                    "system": codes.UCUM,
                                    "code": d.unit,
                                }
                            }
                        ]
                    }
                ]
            if line.stop_date and nxt == line.stop_date and d.action != "hold":
                ms["status"] = "stopped"
            entries.append({"resource": ms})
    for ae in session.scalars(
        select(AdverseEvent)
        .where(AdverseEvent.patient_id == patient.id)
        .order_by(AdverseEvent.date, AdverseEvent.term)
    ):
        entries.append(
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": subject,
                    "onsetDateTime": ae.date.isoformat(),
                    "code": {"coding": [{"system": codes.CTCAE_TERM, "code": ae.term}]},
                    "severity": {"coding": [{"system": codes.CTCAE_GRADE, "code": str(ae.grade)}]},
                }
            }
        )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    Bundle.model_validate(bundle)  # never export what a FHIR reader would reject
    return bundle
