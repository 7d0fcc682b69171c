"""Sources and rule records shared by the monitoring rule tables.

Every clinical rule in :mod:`plateau.monitor` is a :class:`Rule`: an id, what it says, the
document it was read from (a :class:`Source` plus the table/section), and a confidence tag:

* ``C1``: read in a primary or official source (consensus table, drug label, trial abstract);
* ``C2``: read only in a secondary source (review table adapting the primary, manufacturer
  HCP page, registry manual, public implementation);
* ``C3``: read only in an unreviewed secondary page;
* ``UNCONFIRMED``: a detail that could not be read in any source.  Such rules are applied only
  where a choice is unavoidable; they are configurable and every output that depends on one
  lists it under ``unconfirmed_rules_used``, never as fact.
* ``DESIGN``: a choice plateau makes where the sources are silent (e.g. default reference
  ranges when a lab does not send them).  Reported like UNCONFIRMED rules.
"""

from __future__ import annotations

from dataclasses import dataclass

TAGS = ("C1", "C2", "C3", "UNCONFIRMED", "DESIGN")


@dataclass(frozen=True)
class Source:
    """A document a rule was read from."""

    key: str
    title: str
    url: str

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "url": self.url}


@dataclass(frozen=True)
class Rule:
    """One cited rule: ``source`` + ``where`` (table/section) + ``tag``
    (C1/C2/C3/UNCONFIRMED/DESIGN)."""

    id: str
    statement: str
    source: Source
    where: str
    tag: str

    def __post_init__(self) -> None:
        if self.tag not in TAGS:
            raise ValueError(f"rule {self.id}: unknown confidence tag {self.tag!r}")

    @property
    def unconfirmed(self) -> bool:
        return self.tag in ("UNCONFIRMED", "DESIGN", "C3")

    def citation(self) -> str:
        return f"{self.source.title}, {self.where} [{self.tag}]"

    def to_dict(self) -> dict:
        return {
            "rule": self.id,
            "statement": self.statement,
            "source": self.source.title,
            "where": self.where,
            "url": self.source.url,
            "tag": self.tag,
        }

    def summary(self) -> str:
        return f"{self.id}: {self.statement} ({self.citation()})"


S = Source  # short alias for the tables below

IMWG_2011_TABLE = S(
    "imwg-uniform-table1",
    "IMWG uniform response criteria by response subcategory (Blood, Table 1)",
    "http://ashpublications.net/view-large/7148891",
)
DURIE_2006 = S(
    "durie-2006",
    "Durie et al., Leukemia 2006 IMWG uniform response criteria, as tabulated in Kyle & Rajkumar, "
    "Leukemia 2009;23:3, Table 5",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC2627786/table/T5",
)
KUMAR_2016_ADAPTED = S(
    "kumar-2016-adapted",
    "Kumar et al., Lancet Oncol 2016;17:e328 IMWG consensus response criteria, as adapted in "
    "Curr Oncol 2023;30(2):2322, Table 1",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC9954856/table/curroncol-30-00179-t001",
)
ASH_SAP_MR = S(
    "ash-sap-mr",
    "ASH-SAP, Uniform response criteria from the IMWG (Table 4, incl. minimal response)",
    "http://ash-sap.org/view-large/3937963",
)
CIBMTR_MM = S(
    "cibmtr-mm",
    "CIBMTR Forms Instruction Manual, Multiple Myeloma Response Criteria",
    "https://www.cibmtr.org/manuals/fim/1/en/topic/multiple-myeloma-response-criteria",
)
CIBMTR_PCL = S(
    "cibmtr-pcl",
    "CIBMTR Forms Instruction Manual, PCL Response Criteria (Non-Measurable Myeloma)",
    "https://www.manula.com/manuals/cibmtr/fim/1/en/topic/pcl-response-criteria",
)
FARYDAK_IMWG = S(
    "farydak-imwg",
    "Novartis Farydak HCP page quoting the IMWG progressive-disease criteria and notes",
    "https://global.farydak.com/disease-progression/disease-progression/",
)
FLC_RATIO_RANGE = S(
    "flc-ratio-range",
    "IMWG diagnostic criteria table (light-chain MGUS: abnormal FLC ratio < 0.26 or > 1.65)",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC4715763/table/T1",
)
INVOLVED_FLC = S(
    "involved-flc",
    "Hematomorphology.info, plasma-cell myeloma criteria (involved vs uninvolved light chain)",
    "https://www.hematomorphology.info/bone-marrow/lymphomas/mature-b-cel-neoplasms/plasma-cell-"
    "myeloma/plasma-cell-myeloma-criteria-for-diagnosis/",
)
PFS_DEF = S(
    "pfs-def",
    "Blood Cancer J 2024 review (PFS from start of therapy to progression or death)",
    "https://www.nature.com/articles/s41408-024-01109-4",
)
CTCAE_V5 = S(
    "ctcae-v5",
    "NCI Common Terminology Criteria for Adverse Events v5.0 (CTCAE_v5.0.xlsx, sheet 'CTCAE v5.0 "
    "Clean Copy', 27 Nov 2017)",
    "https://ctep.cancer.gov/protocoldevelopment/electronic_applications/docs/"
    "CTCAE_v5_Quick_Reference_8.5x11.pdf",
)
REVLIMID_US_PI = S(
    "revlimid-us-pi",
    "REVLIMID (lenalidomide) US prescribing information, section 2 (copy of the label text)",
    "http://www.120ty.net/bencandy.php?aid=50341&fid=134&page=4",
)
REVLIMID_US_PI_OLD = S(
    "revlimid-us-pi-old",
    "REVLIMID US prescribing information, older edition, section 2 (copy of the label text)",
    "http://www.120ty.net/bencandy.php?aid=3639&fid=134&page=2",
)
REVLIMID_HCP = S(
    "revlimid-hcp-maintenance",
    "revlimidhcp.com, Maintenance therapy dose modifications (manufacturer HCP page)",
    "https://revlimidhcp.com/maintenance-therapy-dose-modifications",
)
REVLIMID_EU = S(
    "revlimid-eu-smpc",
    "Revlimid EU SmPC 2024, section 4.2",
    "https://rxreasoner.com/monographs/revlimid/usage",
)
BORTEZOMIB_PN = S(
    "bortezomib-pn-table",
    "Recommended dose modification for bortezomib-related neuropathy (label table, NCI 2003 "
    "grades), reproduced in PMC1936263 Table 1",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC1936263/table/tbl1",
)
BORTEZOMIB_TOX = S(
    "bortezomib-tox",
    "Bortezomib prescribing information (MIMS), dose modification and reinitiation",
    "https://sit.mimsdev.com/indonesia/drug/info/bortecade/dosage",
)
HOVON65 = S(
    "hovon65",
    "Sonneveld et al., JCO 2012 (HOVON-65/GMMG-HD4) abstract",
    "https://repub.eur.nl/pub/73197",
)
UKMF_THAL = S(
    "ukmf-thalidomide",
    "UK Myeloma Forum, Thalidomide in multiple myeloma: other side-effects (peripheral neuropathy)",
    "http://www.ukmf.org.uk/guidelines/thalidomide/sideeffects.htm",
)
ASH_EDU_2010 = S(
    "ash-edu-2010-neuropathy",
    "ASH Education Program 2010, Dealing with neuropathy in plasma-cell dyscrasias (abstract)",
    "http://ashpublications.net/hematology/article/2010/1/423/96016/",
)
TOURMALINE_MM3 = S(
    "tourmaline-mm3",
    "Dimopoulos et al., Lancet 2019 (TOURMALINE-MM3) abstract",
    "https://pubmed.ncbi.nlm.nih.gov/30545780/",
)
NINLARO_UK_DOSE = S(
    "ninlaro-uk-dose",
    "NINLARO UK HCP site, Dose modification",
    "https://www.ninlaro.co.uk/hcp/prescribing-ninlaro/dose-modification",
)
NINLARO_UK_AE = S(
    "ninlaro-uk-ae",
    "NINLARO UK HCP site, Managing adverse events (myelosuppression)",
    "https://www.ninlaro.co.uk/hcp/prescribing-ninlaro/managing-adverse-events",
)
COCKCROFT_GAULT = S(
    "cockcroft-gault",
    "Cockcroft-Gault formula (Taber's Medical Dictionary)",
    "https://www.tabers.com/tabersonline/view/Tabers-Dictionary/738131/all/Cockcroft_Gault_formula",
)
CREATININE_SI = S(
    "creatinine-si",
    "Creatinine clearance (Cockcroft-Gault) calculator: mg/dL = umol/L / 88.42",
    "https://tools.gera.services/creatinine-clearance-cockcroft-gault",
)
IUPAC_CA = S(
    "iupac-ca",
    "IUPAC standard atomic weight of calcium, 40.078 g/mol (1 mmol/L = 4.0078 mg/dL)",
    "https://iupac.qmul.ac.uk/AtWt/",
)
UCUM = S("ucum", "Unified Code for Units of Measure (UCUM)", "https://ucum.org/ucum")
EORTC_SAS = S(
    "eortc-sas-macro",
    "EORTC QLQ-C30 SAS scoring macro (Van Steen & Curran 1998, modified 2002), implementing the "
    "EORTC QLQ-C30 Scoring Manual 3rd ed. (2001)",
    "https://docslib.org/doc/348894/eortc-qlq-c30-scoring-manual",
)
PROSCORER = S(
    "proscorer-c30",
    "PROscorer R package, R/qlq_c30.R (follows the EORTC scoring manual)",
    "https://github.com/raybaser/PROscorer",
)
QOLR_MY20 = S(
    "qolr-my20",
    "QoLR R package (Anota, CRAN), R/scoring.QLQMY20.R: QLQ-MY20 items 1-6 DS, 7-16 SE, 17 BI, "
    "18-20 FP; half rule",
    "https://rdrr.io/cran/QoLR/man/scoring.QLQMY20.html",
)
OSOBA_1998 = S(
    "osoba-1998",
    "Osoba et al., JCO 1998 (QLQ-C30 changes of 5-10 'a little', 10-20 'moderate'), as described "
    "by a secondary page",
    "https://www.mussenhealth.us/clinical-trials/clinically-meaningful-changes-in-ql-scores.html",
)
KVAM_2010 = S(
    "kvam-2010",
    "Kvam et al., Eur J Haematol 2010 (myeloma QLQ-C30 MIDs; changes < 6 unlikely to matter) "
    "abstract",
    "https://abdn.pure.elsevier.com/en/publications/what-changes-in-health-related-quality-of-life-"
    "matter-to-multiple",
)
MY20_MID_2019 = S(
    "my20-mid-2019",
    "QLQ-MY20 minimal important differences, Eur J Haematol 2019;103:500 (PubMed 31444815 "
    "abstract)",
    "https://api-pubmed-ncbi.laibokeji.com/31444815",
)
REVLIMID_US_PI_2021 = S(
    "revlimid-us-pi-2021",
    "REVLIMID (lenalidomide) US prescribing information, 2021 label (SUPPL-64), highlights and "
    "boxed warning",
    "https://www.docketalarm.com/FDA/Orange_Book/021880/REVLIMID/SUPPL-64/1-Label/",
)
REVLIMID_RENAL_MAINT = S(
    "revlimid-renal-maintenance",
    "REVLIMID US prescribing information, renal dose table, column 'maintenance therapy following "
    "auto-HSCT for MM' (column heading read at drugs.com/dosage/lenalidomide.html, 2022; cell "
    "values not displayed in the stored copies)",
    "https://www.drugs.com/dosage/lenalidomide.html",
)
DARZALEX_DOSE = S(
    "darzalex-dose",
    "J&J Medical Information, Dosage and administration of DARZALEX - dose adjustments (quoting "
    "the US prescribing information), 2024",
    "https://jnjmedicalconnect.com/products/darzalex/medical-content/"
    "dosage-and-administration-of-darzalex-dose-adjustments",
)
IMWG_RELAPSE = S(
    "imwg-relapse-indications",
    "Indications for treatment at relapse (IMWG clinical relapse criteria), Blood, Table 2",
    "http://ashpublications.net/view-large/6511371",
)
IMWG_PCL = S(
    "imwg-pcl",
    "IMWG response criteria for plasma-cell leukaemia (Fernandez de Larrea et al.), table "
    "footnote c (FLC-only VGPR: >= 90% fall in dFLC), PMC7873074 Table 1",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC7873074/table/Tab1",
)
PLATEAU = S("plateau", "plateau design choice (no source rule)", "")
