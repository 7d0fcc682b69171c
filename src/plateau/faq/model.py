"""FAQ entries: one Markdown file per entry with YAML front matter, validated with pydantic.

An entry file (``<id>.md``) looks like::

    ---
    id: goals-of-maintenance            # must equal the file name without .md
    question: What are the treatment goals of maintenance therapy?
    category: goals
    author: {name: ..., role: ..., affiliation: ...}
    reviewers: [{name: ..., role: ..., affiliation: ...}]
    written: 2026-12-06
    related: [choosing-lenalidomide-or-bortezomib]
    citations:
      - {id: ludwig2012, text: "Ludwig H, et al. Blood 2012;119(13):3003-15", pmid: "22271445"}
    last_review:                        # written by `plateau faq sign-off`; read by `faq check`
      date: 2026-12-06
      evidence_version: 9d27e814...
      reviewer: {name: ..., role: ..., affiliation: ...}
      fingerprints: {...}               # one per referenced result (see plateau.faq.refs)
    ---
    Markdown answer.  Numbers by reference: {{ pooled.hr analysis=lenalidomide-os }};
    claims cited with [@ludwig2012].

Every problem is reported with the file and the field (``library/x.md: category: ...``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from plateau.errors import PlateauError

BUNDLED_LIBRARY = Path(__file__).resolve().parent / "library"
PROFILES_FILE = "profiles.yaml"
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?(.*)\Z", re.DOTALL)
ID_PATTERN = r"^[a-z0-9][a-z0-9\-]{1,79}$"
CITE = re.compile(r"\[@([A-Za-z0-9_\-]+)\]")


class FaqError(PlateauError):
    """An invalid FAQ library: the message names the file and the field (or the reference)."""


class Category(StrEnum):
    goals = "goals"
    choosing_agent = "choosing-agent"
    duration = "duration"
    side_effects = "side-effects"
    monitoring = "monitoring"
    special_populations = "special-populations"
    quality_of_life = "quality-of-life"
    talking_with_patients = "talking-with-patients"


CATEGORY_LABELS: dict[str, str] = {
    "goals": "Goals of maintenance",
    "choosing-agent": "Choosing an agent",
    "duration": "Duration",
    "side-effects": "Side effects and their prevention",
    "monitoring": "Monitoring and response",
    "special-populations": "Special populations: older, frail, renal, high-risk",
    "quality-of-life": "Quality of life",
    "talking-with-patients": "What to tell patients",
}


#: words that stand in for a value nobody filled in (compared on letters only, lower case)
PLACEHOLDER_WORDS = frozenset(
    {
        "tbd", "tba", "tbc", "todo", "fixme", "na", "none", "null", "nil", "unknown",
        "placeholder", "changeme", "loremipsum", "name", "role", "affiliation",
        "yourname", "reviewername",
    }
)  # fmt: skip


def placeholder_reason(value: str) -> str | None:
    """Why ``value`` is a placeholder rather than a real name, role or affiliation (else None).

    A placeholder has no letters (``...``, ``-``, ``?``, empty or blank) or, once reduced to its
    letters, is a stand-in word (``TBD``, ``TODO``, ``N/A``, ``xxx``, ``unknown`` ...).
    """
    letters = re.sub(r"[^a-z]", "", value.lower())
    if not letters:
        return f"{value!r} is a placeholder (it has no letters)"
    if letters in PLACEHOLDER_WORDS or re.fullmatch(r"x+", letters):
        return f"{value!r} is a placeholder, not a real value"
    return None


def _no_placeholder(value: str) -> str:
    reason = placeholder_reason(value)
    if reason:
        raise ValueError(f"{reason}; a sign-off names a real person or group")
    return value


class Person(BaseModel):
    """Who wrote or reviewed an entry; placeholders (``...``, ``TBD``, ``n/a``) are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=120)
    role: str = Field(min_length=2, max_length=120)
    affiliation: str = Field(min_length=2, max_length=200)

    @field_validator("name", "role", "affiliation", mode="before")
    @classmethod
    def _real_value(cls, value: Any) -> Any:
        return _no_placeholder(value) if isinstance(value, str) else value

    def text(self) -> str:
        return f"{self.name} ({self.role}, {self.affiliation})"


def make_person(name: str, role: str, affiliation: str, *, origin: str) -> Person:
    """A :class:`Person` from typed values; FaqError naming ``origin`` and the field otherwise."""
    try:
        return Person(name=name, role=role, affiliation=affiliation)
    except ValidationError as exc:
        raise FaqError(f"{origin}: {_problems(exc)}") from None


class Citation(BaseModel):
    """A cited publication: at least one of PMID, DOI or URL, and where in it (``location``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=60)
    text: str = Field(min_length=10, max_length=400)
    pmid: str | None = Field(None, pattern=r"^\d{1,9}$")
    doi: str | None = Field(None, pattern=r"^10\.\d{4,9}/\S+$")
    url: str | None = Field(None, pattern=r"^https?://\S+$")
    location: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _one_identifier(self) -> Citation:
        if not (self.pmid or self.doi or self.url):
            raise ValueError("a citation needs a pmid, doi or url")
        return self

    @property
    def link(self) -> str:
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url or ""


class Fingerprint(BaseModel):
    """What a referenced result looked like when an entry was reviewed (see plateau.faq.refs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    values: dict[str, float | None] = {}
    ci: tuple[float, float] | None = None
    null: float | None = (
        None  #: the no-effect value of the interval (1 for ratios, 0 for differences)
    )
    trials: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()


class Review(BaseModel):
    """A sign-off: who, when, on which evidence version, and the fingerprints it saw."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    evidence_version: str = Field(pattern=r"^[0-9a-f]{64}$")
    reviewer: Person
    note: str | None = Field(None, max_length=2000)
    fingerprints: dict[str, Fingerprint] = {}

    @field_validator("note")
    @classmethod
    def _real_note(cls, value: str | None) -> str | None:
        if value is not None and placeholder_reason(value):
            raise ValueError(f"{placeholder_reason(value)}; write what was checked, or no note")
        return value


class EntryMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    question: str = Field(min_length=10, max_length=300)
    category: Category
    author: Person
    reviewers: tuple[Person, ...] = ()
    written: dt.date
    related: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    citations: tuple[Citation, ...] = ()
    last_review: Review | None = None

    @field_validator("citations")
    @classmethod
    def _unique_citations(cls, value: tuple[Citation, ...]) -> tuple[Citation, ...]:
        seen = set()
        for c in value:
            if c.id in seen:
                raise ValueError(f"citation id {c.id!r} is listed twice")
            seen.add(c.id)
        return value


@dataclass(frozen=True)
class Entry:
    """One validated entry: its metadata, its Markdown answer and the file it came from."""

    meta: EntryMeta
    body: str
    path: Path

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.meta.category.value]

    def citation(self, cid: str) -> Citation | None:
        return next((c for c in self.meta.citations if c.id == cid), None)

    def plain_text(self) -> str:
        """Question, answer and citations as one lower-case string (for full-text search)."""
        parts = [self.meta.question, self.body, *(c.text for c in self.meta.citations)]
        return " ".join(parts).lower()


@dataclass(frozen=True)
class Library:
    """All entries of a library folder (by id, sorted) and its named patient profiles."""

    path: Path
    entries: dict[str, Entry]
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> Entry:
        try:
            return self.entries[entry_id]
        except KeyError:
            raise FaqError(f"no FAQ entry {entry_id!r} in {self.path}") from None

    def by_category(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {c.value: [] for c in Category}
        for e in self:
            out[e.meta.category.value].append(e)
        return out

    def by_author(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {}
        for e in self:
            out.setdefault(e.meta.author.name, []).append(e)
        return dict(sorted(out.items()))


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(front matter)'}: "
        + err["msg"].removeprefix("Value error, ")
        for err in exc.errors()
    )


def split_front_matter(text: str, origin: str) -> tuple[dict[str, Any], str]:
    match = _FRONT.match(text)
    if not match:
        raise FaqError(
            f"{origin}: an entry starts with a YAML front matter block between '---' lines"
        )
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise FaqError(f"{origin}: front matter is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise FaqError(f"{origin}: front matter must be a mapping of fields")
    return data, match.group(2)


def parse_entry(path: Path) -> Entry:
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FaqError(f"{origin}: not UTF-8 text") from None
    data, body = split_front_matter(text, origin)
    try:
        meta = EntryMeta.model_validate(data)
    except ValidationError as exc:
        hint = ""
        if any(
            e["loc"][:1] == ("last_review",) and "placeholder" in e["msg"] for e in exc.errors()
        ):
            hint = (
                " (a sign-off with placeholder values is no review: delete the last_review block"
                " and sign off again with `plateau faq sign-off --name --role --affiliation`)"
            )
        raise FaqError(f"{origin}: {_problems(exc)}{hint}") from None
    if meta.id != path.stem:
        raise FaqError(f"{origin}: id: {meta.id!r} must equal the file name ({path.stem!r})")
    if not body.strip():
        raise FaqError(f"{origin}: answer: the Markdown answer after the front matter is empty")
    cited = set(CITE.findall(body))
    listed = {c.id for c in meta.citations}
    unknown = sorted(cited - listed)
    if unknown:
        raise FaqError(f"{origin}: answer: cites {', '.join(unknown)} not listed under citations")
    unused = sorted(listed - cited)
    if unused:
        raise FaqError(f"{origin}: citations: {', '.join(unused)} listed but never cited")
    return Entry(meta, body, path)


def _load_profiles(folder: Path) -> dict[str, dict[str, Any]]:
    from plateau.decide import parse_profile

    path = folder / PROFILES_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise FaqError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise FaqError(f"{path}: a mapping of profile names to patient profiles is expected")
    for name, profile in data.items():
        if not isinstance(profile, dict):
            raise FaqError(f"{path}: {name}: a profile is a mapping of fields")
        parse_profile(profile, origin=f"{path}: {name}")
    return {str(k): v for k, v in data.items()}


def load_library(path: str | Path | None = None) -> Library:
    """Load and validate every ``*.md`` entry of ``path`` (default: the bundled library).

    Checks each file's front matter and citations, unique ids, related entries that exist, and
    the named profiles of ``profiles.yaml``.  References to live numbers are checked by
    :func:`plateau.faq.validate_library` (it needs the evidence).
    """
    folder = Path(path) if path is not None else BUNDLED_LIBRARY
    if not folder.is_dir():
        raise FaqError(f"{folder}: no such FAQ library folder")
    entries: dict[str, Entry] = {}
    for file in sorted(folder.glob("*.md")):
        if file.name.lower() == "readme.md":
            continue
        entry = parse_entry(file)
        entries[entry.id] = entry
    if not entries:
        raise FaqError(f"{folder}: no FAQ entries (*.md files) found")
    for entry in entries.values():
        missing = [r for r in entry.meta.related if r not in entries]
        if missing:
            raise FaqError(f"{entry.path}: related: no entry {', '.join(map(repr, missing))}")
        if entry.id in entry.meta.related:
            raise FaqError(f"{entry.path}: related: an entry cannot be related to itself")
    return Library(folder, entries, _load_profiles(folder))
