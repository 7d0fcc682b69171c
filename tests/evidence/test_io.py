"""Export / import round trips and users' own evidence (folder, single file, list, CSV)."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from plateau.errors import EvidenceError
from plateau.evidence import (
    CSV_COLUMNS,
    check_path,
    load_bundled,
    load_path,
    to_csv,
    to_json,
    trial_to_yaml,
)


def test_csv_round_trip_is_lossless(tmp_path):
    base = load_bundled()
    path = tmp_path / "evidence.csv"
    path.write_text(to_csv(base), encoding="utf-8")
    again = load_path(path)
    assert again.version == base.version
    assert [t.model_dump() for t in again.trials] == [t.model_dump() for t in base.trials]


def test_json_round_trip_is_lossless(tmp_path):
    base = load_bundled()
    path = tmp_path / "evidence.json"
    path.write_text(to_json(base), encoding="utf-8")
    assert json.loads(path.read_text())["evidence_version"] == base.version
    assert load_path(path).version == base.version


def test_yaml_round_trip_of_one_trial(tmp_path):
    trial = load_bundled().trial("AURIGA")
    path = tmp_path / "AURIGA.yaml"
    path.write_text(trial_to_yaml(trial), encoding="utf-8")
    assert load_path(path).trial("AURIGA") == trial


def test_single_file_with_a_list_of_trials(good_trial, tmp_path):
    second = dict(good_trial, id="DEMO-2")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump([good_trial, second]), encoding="utf-8")
    assert [t.id for t in load_path(path).trials] == ["DEMO-1", "DEMO-2"]


def test_user_csv_errors_name_the_row(good_trial, write_trial, tmp_path):
    base = load_path(write_trial(good_trial))
    rows = list(csv.DictReader(io.StringIO(to_csv(base))))
    estimate_rows = [i for i, r in enumerate(rows) if r["record"] == "estimate"]
    rows[estimate_rows[0]]["ci_low"] = "0.65"  # HR 0.6 now below its CI
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "mine.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    report, _ = check_path(path)
    line = estimate_rows[0] + 2  # header is line 1
    assert [str(e) for e in report.errors] == [
        f"mine.csv: trial DEMO-1: estimates[0] (row {line}).ci_low: HR 0.6 lies outside its CI "
        "[0.65, 0.8]"
    ]


def test_csv_with_unknown_column_is_rejected(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("record,trial_id,hazard\ntrial,X,1\n", encoding="utf-8")
    with pytest.raises(EvidenceError, match=r"^bad\.csv: unknown column\(s\) hazard$"):
        load_path(path)


def test_csv_without_record_column_is_rejected(tmp_path):
    path = tmp_path / "effects.csv"
    path.write_text("trial_id,hr\nX,0.5\n", encoding="utf-8")
    with pytest.raises(EvidenceError, match=r"^effects\.csv: missing column\(s\) record"):
        load_path(path)


def test_csv_rows_without_trial_record(tmp_path):
    path = tmp_path / "orphan.csv"
    path.write_text(
        "record,trial_id,id,kind,url\nsource,X,s1,primary,https://example.org\n", encoding="utf-8"
    )
    with pytest.raises(
        EvidenceError, match=r"^orphan\.csv: trial X has rows but no 'trial' record$"
    ):
        load_path(path)


def test_csv_keeps_p_value_text_and_lists(tmp_path):
    text = to_csv(load_bundled())
    rows = list(csv.DictReader(io.StringIO(text)))
    arm = next(
        r for r in rows if r["record"] == "arm" and r["trial_id"] == "AURIGA" and r["id"] == "DR"
    )
    assert arm["agents"] == "daratumumab; lenalidomide"
    est = next(
        r
        for r in rows
        if r["record"] == "estimate" and r["trial_id"] == "CALGB100104" and r["hr"] == "0.57"
    )
    assert est["p_value"] == "<0.0001"
