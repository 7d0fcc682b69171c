"""Sign-offs name a real reviewer: placeholder values ('...', 'TBD', 'n/a', blank) are refused
by the entry schema, the library loader, `plateau faq sign-off`; every bundled entry loads with
a named reviewer and a note saying what was checked."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from plateau.cli import app
from plateau.faq import BUNDLED_LIBRARY, FaqError, Person, load_library
from plateau.faq.model import parse_entry, placeholder_reason

runner = CliRunner()

PLACEHOLDERS = ["...", "-", "?", "TBD", "TODO", "xxx", "XXXX", "n/a", "N.A.", "", "   ", "--", "…"]
REAL = ["plateau developers", "Dr A. Ng", "Xu Wei", "consultant haematologist", "St. Elsewhere"]

ENTRY = """---
id: demo-entry
question: What is a demonstration entry for?
category: goals
author: {name: Test Author, role: haematologist, affiliation: Test Hospital}
written: 2026-01-01
citations:
  - {id: c1, text: "A cited paper, Journal 2020;1:1-2", pmid: "12345678"}
last_review:
  date: '2026-01-02'
  evidence_version: 5bf67ece9ab508bfe88f0a18d3ecb209ed85fee6a6ae077cb10a188cf8992fdd
  reviewer:
    name: NAME
    role: ROLE
    affiliation: AFFILIATION
  note: NOTE
---
The answer [@c1].
"""
GOOD = {"NAME": "Dr R Eviewer", "ROLE": "haematologist", "AFFILIATION": "Test Hospital"}


def _write(tmp_path, **values) -> object:
    text = ENTRY
    for key, value in ({**GOOD, "NOTE": "checked the text"} | values).items():
        text = text.replace(key, repr(value))  # YAML single-quoted scalar, as sign-off writes
    path = tmp_path / "demo-entry.md"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholder_values_are_recognised(value):
    assert placeholder_reason(value) is not None


@pytest.mark.parametrize("value", REAL)
def test_real_values_are_not_placeholders(value):
    assert placeholder_reason(value) is None
    assert Person(name=value, role=value, affiliation=value).name == value


@pytest.mark.parametrize("field", ["NAME", "ROLE", "AFFILIATION"])
@pytest.mark.parametrize("value", ["...", "TBD", "n/a", "xxx", "  "])
def test_loading_a_review_with_a_placeholder_fails_naming_file_and_field(tmp_path, field, value):
    path = _write(tmp_path, **{field: value})
    with pytest.raises(FaqError) as exc:
        parse_entry(path)
    message = str(exc.value)
    assert message.startswith(f"{path}: "), message
    assert f"last_review.reviewer.{field.lower()}: " in message, message
    assert "placeholder" in message and "plateau faq sign-off" in message, message
    assert "Value error" not in message, message  # pydantic's prefix is not shown to users
    with pytest.raises(FaqError, match=f"last_review.reviewer.{field.lower()}"):
        load_library(tmp_path)


def test_placeholder_note_and_author_are_refused(tmp_path):
    with pytest.raises(FaqError, match=r"demo-entry.md: last_review.note: .*placeholder"):
        parse_entry(_write(tmp_path, NOTE="..."))
    text = ENTRY.replace("name: Test Author", "name: '...'")
    for key, value in (GOOD | {"NOTE": "checked"}).items():
        text = text.replace(key, repr(value))
    (tmp_path / "demo-entry.md").write_text(text, encoding="utf-8")
    with pytest.raises(FaqError, match=r"demo-entry.md: author.name: .*placeholder"):
        parse_entry(tmp_path / "demo-entry.md")


def test_a_real_reviewer_loads(tmp_path):
    entry = parse_entry(_write(tmp_path))
    assert entry.meta.last_review is not None
    assert entry.meta.last_review.reviewer.text() == "Dr R Eviewer (haematologist, Test Hospital)"


@pytest.mark.parametrize("path", sorted(BUNDLED_LIBRARY.glob("*.md")), ids=lambda p: p.stem)
def test_every_bundled_entry_loads_with_a_named_reviewer_and_a_note(path):
    entry = parse_entry(path)  # FaqError (file and field) on a placeholder reviewer
    review = entry.meta.last_review
    assert review is not None, f"{path.name}: no last_review"
    for field in ("name", "role", "affiliation"):
        value = getattr(review.reviewer, field)
        assert placeholder_reason(value) is None, f"{path.name}: reviewer {field} {value!r}"
    # an own check is recorded as such, never as an independent clinical review
    assert "not an independent clinical review" in review.reviewer.role, path.name
    assert review.note and len(review.note.split()) >= 8, f"{path.name}: review note missing"


def _sign_off(library, *extra):
    args = ["faq", "sign-off", "goals-of-maintenance", "--library", str(library)]
    return runner.invoke(app, [*args, *extra])


@pytest.mark.parametrize(
    "option,value",
    [("--name", "..."), ("--role", "TBD"), ("--affiliation", "n/a"), ("--name", "  ")],
)
def test_cli_sign_off_refuses_placeholders_and_writes_nothing(library_copy, option, value):
    from plateau.cli import main

    path = library_copy / "goals-of-maintenance.md"
    before = path.read_text("utf-8")
    options = {"--name": "Dr Test", "--role": "haematologist", "--affiliation": "Test Hospital"}
    options[option] = value
    argv = ["faq", "sign-off", "goals-of-maintenance", "--library", str(library_copy)]
    argv += [x for pair in options.items() for x in pair]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 1
    assert path.read_text("utf-8") == before


def test_cli_sign_off_error_names_the_field(library_copy):
    result = _sign_off(
        library_copy, "--name", "...", "--role", "haematologist", "--affiliation", "Test Hospital"
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, FaqError)
    assert "plateau faq sign-off: name: " in str(result.exception)
    assert "placeholder" in str(result.exception)
    note = _sign_off(
        library_copy,
        *("--name", "Dr Test", "--role", "haematologist", "--affiliation", "Test Hospital"),
        *("--note", "..."),
    )
    assert note.exit_code != 0 and "--note" in str(note.exception)
