"""Staleness: change the evidence, and exactly the entries whose numbers moved need review.

The expected values are worked out here from the change itself (a single-trial pool is that
trial's HR; a 95% CI symmetric on the log scale stays symmetric), not from the FAQ's output.
"""

from __future__ import annotations

import math
import re

import pytest

from plateau.analysis import AnalysisSpec, builtin_spec, run_analysis
from plateau.evidence import load_path
from plateau.faq import BUNDLED_LIBRARY, CURRENT, NEEDS_REVIEW, Faq

OS_REFS = re.compile(r"analysis=lenalidomide-os\b|decide\.os_\w+ [^}]*agent=lenalidomide")


def _stale(faq: Faq) -> dict:
    return {s.entry_id: s for s in faq.statuses() if s.stale}


def test_bundled_library_is_current_on_bundled_evidence():
    faq = Faq.open()
    assert len(faq.library) >= 15
    assert {s.status for s in faq.statuses()} == {CURRENT}


def test_one_hr_changed_flags_exactly_the_dependent_entries_with_the_right_diff(
    evidence_copy, edit_estimate
):
    # CALGB 100104 overall survival, latest report: HR 0.61 (0.46-0.80) -> 0.95 (0.76-1.1875)
    edit_estimate(
        evidence_copy, "CALGB100104", "OS", "latest", hr=0.95, ci_low=0.76, ci_high=1.1875
    )
    faq = Faq.open(evidence=evidence_copy)
    stale = _stale(faq)

    # the dependent entries, read from the entry files themselves: those referring to
    # lenalidomide overall survival (pooled analysis or decision aid)
    dependent = {
        p.stem for p in BUNDLED_LIBRARY.glob("*.md") if OS_REFS.search(p.read_text("utf-8"))
    }
    assert dependent == {
        "goals-of-maintenance",
        "does-maintenance-prolong-survival",
        "explaining-benefit-in-numbers",
    }
    # the decision aid uses McCarthy 2017's IPD for lenalidomide OS after ASCT (plateau's pool is
    # shown beside it), so a changed CALGB HR moves the pooled analyses but not the decision
    # aid's OS numbers in the patient-facing entry
    assert set(stale) == dependent - {"explaining-benefit-in-numbers"}
    assert all(s.status == NEEDS_REVIEW for s in stale.values())

    # the diff of the post-transplant OS pool (CALGB 100104, IFM 2005-02 and the two
    # mixed-population trials): it moves to what the analysis gives on the changed evidence
    survival = {c.key: c for c in stale["does-maintenance-prolong-survival"].changes}
    assert set(survival) == {"pooled:lenalidomide-os", "pooled:lenalidomide-os@post_asct"}
    c = survival["pooled:lenalidomide-os@post_asct"]
    changed = load_path(evidence_copy)
    post = run_analysis(
        AnalysisSpec(outcome="OS", agents=("lenalidomide",), settings=("post_asct",)), changed
    ).pooled
    assert c.new.values["estimate"] == pytest.approx(post.estimate, abs=1e-4)
    assert c.old.values["estimate"] < c.new.values["estimate"]
    assert c.trials_added == c.trials_removed == ()

    # the all-settings pool moved to what the analysis itself gives on the changed evidence
    pooled = run_analysis(builtin_spec("lenalidomide-os"), changed).pooled
    assert survival["pooled:lenalidomide-os"].new.values["estimate"] == pytest.approx(
        pooled.estimate, abs=1e-4
    )
    # the rendered answer shows the new pooled number
    assert f"{post.estimate:.2f}" in faq.render("does-maintenance-prolong-survival").text


def test_a_small_move_keeps_entries_current_unless_the_threshold_is_lower(
    evidence_copy, edit_estimate
):
    # CALGB 100104 OS 0.61 -> 0.62 moves the four-trial post-ASCT pool by about 0.5% (0.791 ->
    # 0.795) and its CI still includes 1: current at the default threshold, flagged at 0.1%
    edit_estimate(evidence_copy, "CALGB100104", "OS", "latest", hr=0.62, ci_low=0.47, ci_high=0.81)
    assert _stale(Faq.open(evidence=evidence_copy)) == {}
    strict = Faq.open(evidence=evidence_copy, threshold=0.001)
    assert "does-maintenance-prolong-survival" in _stale(strict)
    assert math.isclose(0.62 / 0.61 - 1, 0.0164, abs_tol=1e-3)


def test_a_removed_trial_is_listed_in_the_diff(evidence_copy):
    (evidence_copy / "MyelomaXI.yaml").unlink()
    stale = _stale(Faq.open(evidence=evidence_copy))
    change = {c.key: c for c in stale["goals-of-maintenance"].changes}["pooled:lenalidomide-pfs"]
    assert change.trials_removed == ("MyelomaXI",)
    assert "trials removed: MyelomaXI" in change.reasons
    assert change.old.values["estimate"] != change.new.values["estimate"]


def test_a_replaced_report_flags_the_entry(evidence_copy, edit_estimate):
    # same numbers, read from a newer report: the answer's source changed, so it needs review
    edit_estimate(evidence_copy, "CALGB100104", "OS", "latest", report="Holstein 2030 (update)")
    stale = _stale(Faq.open(evidence=evidence_copy))
    change = {c.key: c for c in stale["does-maintenance-prolong-survival"].changes}[
        "pooled:lenalidomide-os@post_asct"
    ]
    assert change.reasons == ("reports used changed (a report superseded or replaced)",)
    assert change.reports_added == ("CALGB100104: Holstein 2030 (update)",)
    assert change.reports_removed[0].startswith("CALGB100104: Holstein, Lancet Haematol 2017")


def test_sign_off_in_the_file_clears_the_flag(evidence_copy, library_copy, edit_estimate):
    from plateau.faq import Person, write_last_review

    edit_estimate(
        evidence_copy, "CALGB100104", "OS", "latest", hr=0.95, ci_low=0.76, ci_high=1.1875
    )
    faq = Faq.open(library_copy, evidence_copy)
    assert faq.status("goals-of-maintenance").stale
    reviewer = Person(name="Dr Test Reviewer", role="haematologist", affiliation="Test Hospital")
    write_last_review(
        faq.entry("goals-of-maintenance"), faq.new_review("goals-of-maintenance", reviewer)
    )
    again = Faq.open(library_copy, evidence_copy)
    assert again.status("goals-of-maintenance").status == CURRENT
    assert again.entry("goals-of-maintenance").meta.last_review.reviewer == reviewer
    # the rest of the file is untouched
    text = (library_copy / "goals-of-maintenance.md").read_text("utf-8")
    assert text.count("last_review:") == 1 and "{{ pooled.hr analysis=lenalidomide-pfs }}" in text


def test_a_changed_harm_flags_the_entries_citing_it(evidence_copy):
    """RV-MM-PI-209 grade 3-4 neutropenia 23.3% -> 30% with lenalidomide: the two entries that
    quote the decision aid's neutropenia risk need review; the diff shows the per-trial numbers."""
    import yaml

    path = evidence_copy / "RV-MM-PI-209.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    (row,) = [a for a in data["adverse_events"] if a["term"] == "neutropenia"]
    row["percent_experimental"] = 30.0
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    stale = _stale(Faq.open(evidence=evidence_copy))
    citing = {
        p.stem for p in BUNDLED_LIBRARY.glob("*.md") if "ae=neutropenia" in p.read_text("utf-8")
    }
    assert set(stale) == citing == {"reducing-side-effects", "choosing-lenalidomide-or-bortezomib"}
    (change,) = stale["reducing-side-effects"].changes
    assert change.key == "harm:post-asct-60:lenalidomide:neutropenia>=3"
    assert change.old.values["RV-MM-PI-209 with"] == pytest.approx(23.3)
    assert change.new.values["RV-MM-PI-209 with"] == pytest.approx(30.0)
    assert change.new.values["RV-MM-PI-209 without"] == 0.0
    assert change.reasons == ("RV-MM-PI-209 with moved 23.3 -> 30 (+29%)",)


def test_renamed_analysis_resolves_through_one_line(tmp_path, monkeypatch):
    from plateau.faq import refs

    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "renamed.md").write_text(
        "---\nid: renamed\nquestion: Does a renamed analysis still resolve?\ncategory: goals\n"
        "author: {name: Test Author, role: tester, affiliation: Test Unit}\nwritten: 2026-01-01\n"
        "---\nHR {{ hr analysis=len-pfs-old-name }}.\n",
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="no built-in analysis 'len-pfs-old-name'"):
        Faq.open(folder)
    monkeypatch.setitem(refs.ANALYSIS_RENAMES, "len-pfs-old-name", "lenalidomide-pfs")
    faq = Faq.open(folder)
    pooled = run_analysis(builtin_spec("lenalidomide-pfs"), faq.base).pooled
    assert faq.render("renamed").text.strip() == f"HR {pooled.estimate:.2f}."
