"""Codes used to exchange records: LOINC for lab analytes, UCUM units, plateau's own code systems.

LOINC codes and their confidence tags are those of the clinical-rules specification
(``docs/clinical-rules.md`` section 6; sources: the NLM Clinical Tables LOINC extract,
the HL7 mCODE implementation guide examples and independent public implementations).  Every
code below was seen in those sources; a code must still be checked against the current LOINC
release before production use (tag C2 = secondary source only).

* ``EXPORT``: the one code written for each analyte on FHIR export.  Analytes with no confirmed
  LOINC code (bone-marrow plasma cells: conflicting codes, UNCONFIRMED; immunofixation results,
  clonal cells, new lesions) are written with plateau's analyte code only.
* ``IMPORT``: every LOINC code accepted on import (the export code and its variants, e.g. the
  nephelometry and "Serum or Plasma" free light chain codes); the value's UCUM unit decides the
  conversion to plateau's canonical unit (:mod:`plateau.rules.units`).
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PLATEAU_ANALYTE = "urn:plateau:analyte"  #: code = plateau.rules.units analyte name
PLATEAU_PATIENT = "urn:plateau:patient-id"  #: identifier system when the source gave none
CTCAE_TERM = "urn:plateau:ctcae-v5-term"  #: code = plateau.monitor.ctcae term name
CTCAE_GRADE = "urn:plateau:ctcae-v5-grade"  #: code = "1".."5"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
MYELOMA_ICD10_PREFIX = "C90.0"  #: ICD-10 C90.0 multiple myeloma (C90.00/C90.01/C90.02 in ICD-10-CM)


@dataclass(frozen=True)
class LoincCode:
    code: str
    display: str
    analyte: str
    tag: str  #: C1 / C2 (see the module docstring)


_CODES = (
    LoincCode(
        "33358-3",
        "Protein.monoclonal [Mass/volume] in Serum or Plasma by Electrophoresis",
        "serum_m_protein",
        "C2",
    ),
    LoincCode(
        "42482-0",
        "Protein.monoclonal [Mass/time] in 24 hour Urine by Electrophoresis",
        "urine_m_protein",
        "C2",
    ),
    LoincCode("36916-5", "Kappa light chains.free [Mass/volume] in Serum", "kappa_flc", "C2"),
    LoincCode(
        "104544-2", "Kappa light chains.free [Mass/volume] in Serum or Plasma", "kappa_flc", "C2"
    ),
    LoincCode(
        "80515-0",
        "Kappa light chains.free [Mass/volume] in Serum by Nephelometry",
        "kappa_flc",
        "C2",
    ),
    LoincCode("33944-0", "Lambda light chains.free [Mass/volume] in Serum", "lambda_flc", "C2"),
    LoincCode(
        "80516-8",
        "Lambda light chains.free [Mass/volume] in Serum by Nephelometry",
        "lambda_flc",
        "C2",
    ),
    LoincCode("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "calcium", "C2"),
    LoincCode("2000-8", "Calcium [Moles/volume] in Serum or Plasma", "calcium", "C2"),
    LoincCode("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "creatinine", "C2"),
    LoincCode("718-7", "Hemoglobin [Mass/volume] in Blood", "hemoglobin", "C1"),
    LoincCode("751-8", "Neutrophils [#/volume] in Blood by Automated count", "anc", "C2"),
    LoincCode("777-3", "Platelets [#/volume] in Blood by Automated count", "platelets", "C2"),
    LoincCode("26515-7", "Platelets [#/volume] in Blood", "platelets", "C2"),
    LoincCode("26464-8", "Leukocytes [#/volume] in Blood", "wbc", "C1"),
)

IMPORT: dict[str, LoincCode] = {c.code: c for c in _CODES}
EXPORT: dict[str, LoincCode] = {}
for _c in _CODES:
    EXPORT.setdefault(_c.analyte, _c)

#: canonical unit -> UCUM code written on export (the canonical spellings are UCUM except mg/24h)
UCUM_EXPORT = {
    "g/dL": "g/dL",
    "mg/dL": "mg/dL",
    "mg/24h": "mg/(24.h)",
    "%": "%",
    "10*9/L": "10*9/L",
}

AGENTS = ("lenalidomide", "thalidomide", "bortezomib", "ixazomib", "daratumumab")
