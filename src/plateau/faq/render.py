"""Render an answer: live numbers substituted, citations numbered, Markdown to safe HTML.

References (``{{ ... }}``) and citations (``[@id]``) are first replaced by inert placeholder
words, the Markdown is rendered by markdown-it-py (CommonMark + tables, raw HTML disabled so
anything an author types as HTML is escaped, unsafe link schemes refused), and the placeholders
are then replaced by escaped HTML: each number links to its entry in "Numbers in this answer"
(analysis, trials, sources), each citation to its reference.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

from plateau.faq.model import CITE, Citation, Entry
from plateau.faq.refs import REF, Resolved, Resolver, parse_ref

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)


@dataclass(frozen=True)
class Rendered:
    """An entry rendered on one evidence base."""

    entry: Entry
    html: str  #: the answer as safe HTML
    text: str  #: the answer as Markdown with numbers substituted and citations as [n]
    numbers: tuple[Resolved, ...]  #: in order of first appearance
    citations: tuple[Citation, ...]  #: in order of first citation
    evidence_version: str

    def to_dict(self) -> dict[str, Any]:
        m = self.entry.meta
        return {
            "id": m.id,
            "question": m.question,
            "category": m.category.value,
            "author": m.author.model_dump(),
            "reviewers": [r.model_dump() for r in m.reviewers],
            "written": m.written.isoformat(),
            "related": list(m.related),
            "answer_markdown": self.text,
            "answer_html": self.html,
            "numbers": [n.to_dict() for n in self.numbers],
            "citations": [c.model_dump() | {"link": c.link} for c in self.citations],
            "evidence_version": self.evidence_version,
        }


def render_entry(entry: Entry, resolver: Resolver) -> Rendered:
    origin = str(entry.path)
    body = entry.body
    numbers: list[Resolved] = []
    index: dict[str, int] = {}
    pieces: dict[str, str] = {}
    plain: dict[str, str] = {}

    def number(match) -> str:
        ref = parse_ref(match.group(1), origin)
        if ref.raw not in index:
            index[ref.raw] = len(numbers)
            numbers.append(resolver.resolve(ref))
        i = index[ref.raw]
        r = numbers[i]
        token = f"PLATEAUREF{len(pieces):05d}X"
        cls = "live" if r.available else "live unavailable"
        title = html.escape(f"{r.fingerprint.label}: live number", quote=True)
        pieces[token] = (
            f'<a class="{cls}" href="#num-{i + 1}" title="{title}">{html.escape(r.text)}'
            f'<sup class="num-mark" aria-hidden="true">#{i + 1}</sup></a>'
        )
        plain[token] = r.text
        return token

    cited: list[Citation] = []

    def cite(match) -> str:
        c = entry.citation(match.group(1))
        assert c is not None  # parse_entry checked every citation
        if c not in cited:
            cited.append(c)
        n = cited.index(c) + 1
        token = f"PLATEAUCITE{len(pieces):05d}X"
        pieces[token] = (
            f'<sup class="cite"><a href="#cite-{html.escape(c.id)}" '
            f'aria-label="reference {n}">[{n}]</a></sup>'
        )
        plain[token] = f"[{n}]"
        return token

    text = REF.sub(number, body)
    text = CITE.sub(cite, text).replace("\\{{", "{{")
    out = _MD.render(text)
    md = text
    for token, piece in pieces.items():
        out = out.replace(token, piece)
        md = md.replace(token, plain[token])
    return Rendered(entry, out, md, tuple(numbers), tuple(cited), resolver.base.version)


def render_text(rendered: Rendered) -> str:
    """A plain-text transcript: question, answer, numbers with their sources, references."""
    m = rendered.entry.meta
    lines = [m.question, "=" * min(len(m.question), 78), "", rendered.text.strip(), ""]
    if rendered.numbers:
        lines.append("Numbers in this answer (live, evidence version "
                     f"{rendered.evidence_version[:12]}):")  # fmt: skip
        for i, n in enumerate(rendered.numbers, 1):
            lines.append(f"  #{i} {n.text}: {n.fingerprint.label} ({n.link})")
            if n.note:
                lines.append(f"      note: {n.note}")
            for s in n.sources:
                lines.append(f"      {s.trial_name}: {s.citation}")
    if rendered.citations:
        lines.append("References:")
        for i, c in enumerate(rendered.citations, 1):
            lines.append(f"  [{i}] {c.text} {c.link}")
    lines.append(f"Author: {m.author.text()}; written {m.written.isoformat()}")
    return "\n".join(lines)
