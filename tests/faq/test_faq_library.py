"""FAQ entries: validation errors name the file and the field or reference; rendering is safe."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from plateau.cli import app
from plateau.faq import CATEGORY_LABELS, Category, Faq, FaqError, load_library

runner = CliRunner()

GOOD = """---
id: demo-entry
question: What is a demonstration entry for?
category: goals
author: {name: Test Author, role: haematologist, affiliation: Test Hospital}
written: 2026-01-01
citations:
  - {id: c1, text: "A cited paper, Journal 2020;1:1-2", pmid: "12345678"}
---
The pooled PFS hazard ratio is {{ pooled.hr analysis=lenalidomide-pfs }} [@c1].
"""


def _library(tmp_path, text: str, name: str = "demo-entry.md"):
    folder = tmp_path / "lib"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def _error(tmp_path, text: str, name: str = "demo-entry.md") -> str:
    with pytest.raises(FaqError) as exc:
        Faq.open(_library(tmp_path, text, name))
    return str(exc.value)


def test_good_entry_loads_and_renders(tmp_path):
    faq = Faq.open(_library(tmp_path, GOOD))
    rendered = faq.render("demo-entry")
    assert "0.50" in rendered.text and "[1]" in rendered.text
    assert 'href="#num-1"' in rendered.html and 'href="#cite-c1"' in rendered.html


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ("category: goals", "category: cure", "demo-entry.md: category: Input should be"),
        ("id: demo-entry", "id: other-entry", "demo-entry.md: id: 'other-entry' must equal"),
        ('pmid: "12345678"', 'note: "x"', "demo-entry.md: citations.0.note"),
        ("[@c1]", "[@c2]", "demo-entry.md: answer: cites c2 not listed under citations"),
        ("written: 2026-01-01", "written: someday", "demo-entry.md: written: Input should be"),
        ("author: {name: Test Author, ", "author: {", "demo-entry.md: author.name: Field required"),
        (
            "analysis=lenalidomide-pfs",
            "analysis=lenalidomide-pfss",
            "demo-entry.md: reference {{ pooled.hr analysis=lenalidomide-pfss }}: analysis: "
            "no built-in analysis 'lenalidomide-pfss'",
        ),
        (
            "pooled.hr",
            "pooled.median",
            "reference {{ pooled.median analysis=lenalidomide-pfs }}: unknown name",
        ),
        ("analysis=lenalidomide-pfs", "", "reference {{ pooled.hr }}: missing analysis"),
        (
            "analysis=lenalidomide-pfs",
            "analysis=lenalidomide-pfs setting=moon",
            "setting: unknown setting 'moon'",
        ),
        (
            "{{ pooled.hr analysis=lenalidomide-pfs }}",
            "{{ decide.pfs_gain_per_100 profile=nobody agent=lenalidomide }}",
            "profile: no profile 'nobody' in the library's profiles.yaml",
        ),
        (
            "{{ pooled.hr analysis=lenalidomide-pfs }}",
            "{{ harm.risk ae=neutropenia grade=any agent=lenalidomide profile=p }}",
            "profile: no profile 'p'",
        ),
    ],
)
def test_errors_name_the_file_and_the_field(tmp_path, old, new, expected):
    assert old in GOOD
    message = _error(tmp_path, GOOD.replace(old, new))
    assert expected in message, message


def test_harm_grade_must_match_the_decision_aid(tmp_path):
    folder = _library(
        tmp_path,
        GOOD.replace(
            "{{ pooled.hr analysis=lenalidomide-pfs }}",
            "{{ harm.risk ae=neutropenia grade=any agent=lenalidomide profile=p }}",
        ),
    )
    (folder / "profiles.yaml").write_text(
        "p: {age: 60, sex: female, transplant_status: post_asct, response: VGPR}\n"
    )
    with pytest.raises(FaqError, match=r"grade: the decision aid counts neutropenia as grade>=3"):
        Faq.open(folder)


def test_bad_profile_is_reported_with_its_file_and_field(tmp_path):
    folder = _library(tmp_path, GOOD)
    (folder / "profiles.yaml").write_text(
        "p: {age: 260, sex: female, transplant_status: post_asct, response: VGPR}\n"
    )
    with pytest.raises(Exception, match=r"profiles.yaml: p.*age"):
        load_library(folder)


def test_related_entries_must_exist(tmp_path):
    message = _error(
        tmp_path, GOOD.replace("written: 2026-01-01", "written: 2026-01-01\nrelated: [ghost]")
    )
    assert "demo-entry.md: related: no entry 'ghost'" in message


def test_user_html_is_escaped_and_unsafe_links_refused(tmp_path):
    text = GOOD + "\n<script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror=y>\n"
    html = Faq.open(_library(tmp_path, text)).render("demo-entry").html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html and "<img" not in html


def test_literal_braces_can_be_escaped(tmp_path):
    text = GOOD + "\nWrite \\{{ k }} to show braces.\n"
    assert (
        "Write {{ k }} to show braces."
        in Faq.open(_library(tmp_path, text)).render("demo-entry").text
    )


def test_bundled_library_covers_every_category_and_the_three_questions():
    lib = load_library()
    assert len(lib) >= 15
    assert {e.meta.category for e in lib} == set(Category)
    assert set(CATEGORY_LABELS) == {c.value for c in Category}
    questions = {e.meta.question for e in lib}
    assert "What are the treatment goals of maintenance therapy?" in questions
    assert "How can we reduce the risk of maintenance-associated side effects?" in questions
    assert (
        "When choosing bortezomib- or lenalidomide-based maintenance, what should I discuss "
        "with my patient?" in questions
    )
    for e in lib:  # every entry cites a publication or ties a claim to a live number
        assert e.meta.citations or "{{" in e.body, e.id


def test_every_bundled_reference_resolves_to_a_number():
    faq = Faq.open()
    for e in faq.library:
        for n in faq.render(e.id).numbers:
            assert n.available, (e.id, n.ref.raw, n.note)
            assert n.text and "[" not in n.text


def test_search_finds_words_in_questions_and_answers():
    faq = Faq.open()
    assert [e.id for e in faq.search("neuropathy bortezomib")]
    assert faq.search("thromboprophylaxis")[0].id == "blood-clots-on-maintenance"
    assert faq.search("zzzz-no-such-word") == []


# ---- command line -------------------------------------------------------------------------------


def test_cli_check_passes_on_bundled_and_fails_on_changed_evidence(evidence_copy, edit_estimate):

    ok = runner.invoke(app, ["faq", "check"])
    assert ok.exit_code == 0, ok.output
    assert "0 need review" in ok.output
    edit_estimate(
        evidence_copy, "CALGB100104", "OS", "latest", hr=0.95, ci_low=0.76, ci_high=1.1875
    )
    bad = runner.invoke(app, ["faq", "check", "--evidence", str(evidence_copy), "--format", "json"])
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    # (the decision aid's lenalidomide OS after ASCT comes from McCarthy 2017's IPD, so the
    # patient-facing numbers entry does not move with CALGB's published HR)
    assert {s["entry"] for s in report["stale"]} == {
        "goals-of-maintenance",
        "does-maintenance-prolong-survival",
    }


def test_cli_list_json_and_show(library_copy):
    out = runner.invoke(app, ["faq", "list", "--format", "json", "--library", str(library_copy)])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)["entries"]
    assert len(rows) >= 15 and {r["status"] for r in rows} == {"current"}
    show = runner.invoke(app, ["faq", "show", "goals-of-maintenance"])
    assert show.exit_code == 0 and "Status: current" in show.output
    bad = runner.invoke(app, ["faq", "show", "no-such-entry"])
    assert bad.exit_code != 0


def test_cli_sign_off_writes_the_file(library_copy):
    path = library_copy / "goals-of-maintenance.md"
    text = path.read_text("utf-8")
    front, body = text.split("\n---\n", 1)
    path.write_text(front.split("last_review:")[0] + "---\n" + body, encoding="utf-8")
    before = runner.invoke(app, ["faq", "check", "--library", str(library_copy)])
    assert before.exit_code == 1 and "goals-of-maintenance: not reviewed" in before.output
    result = runner.invoke(
        app,
        [
            "faq",
            "sign-off",
            "goals-of-maintenance",
            "--library",
            str(library_copy),
            "--name",
            "Dr Test",
            "--role",
            "haematologist",
            "--affiliation",
            "Test Hospital",
        ],
    )
    assert result.exit_code == 0, result.output
    after = runner.invoke(app, ["faq", "check", "--library", str(library_copy)])
    assert after.exit_code == 0, after.output


def test_cli_reports_a_broken_library_in_one_line(tmp_path):
    import subprocess
    import sys

    folder = _library(tmp_path, GOOD.replace("analysis=lenalidomide-pfs", "analysis=nope"))
    result = subprocess.run(
        [sys.executable, "-m", "plateau", "faq", "check", "--library", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    line = " ".join(result.stderr.split())
    assert "demo-entry.md: reference {{ pooled.hr analysis=nope }}: analysis:" in line
