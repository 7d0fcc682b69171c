"""QLQ-C30 / MY20 scoring by hand from the manual's formulas (docs/clinical-rules.md section 4)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from plateau.monitor import io as mio
from plateau.monitor.qol import SCALES, assess_qol, score_items


def _row(**items):
    cols = {f"q{i}": np.nan for i in range(1, 31)}
    cols.update({f"my{i}": np.nan for i in range(1, 21)})
    cols.update(items)
    return pd.DataFrame([cols])


def test_spec_vectors():
    s = score_items(_row(q1=1, q2=1, q3=2, q4=1, q5=1, q10=3, q12=4, q29=5, q26=2)).iloc[0]
    assert s["PF2"] == pytest.approx((1 - (1.2 - 1) / 3) * 100)  # 93.33
    assert s["FA"] == pytest.approx((3.5 - 1) / 3 * 100)  # 83.33, 2 of 3 items
    assert s["QL2"] == pytest.approx((5 - 1) / 6 * 100)  # 66.67 from one of two items
    assert s["SF"] == pytest.approx((1 - (2 - 1) / 3) * 100)  # 66.67 from one of two items
    assert np.isnan(s["NV"])  # 0 of 2 items
    assert np.isnan(s["DY"])  # single item missing


def test_all_fifteen_c30_scales_full_answers():
    items = {f"q{i}": 2 for i in range(1, 29)}
    items.update(q29=4, q30=6)
    s = score_items(_row(**items)).iloc[0]
    for code in ("PF2", "RF2", "EF", "CF", "SF"):
        assert s[code] == pytest.approx(100 * (1 - 1 / 3))  # RS 2 -> 66.67
    for code in ("FA", "NV", "PA", "DY", "SL", "AP", "CO", "DI", "FI"):
        assert s[code] == pytest.approx(100 / 3)  # RS 2 -> 33.33
    assert s["QL2"] == pytest.approx((5 - 1) / 6 * 100)  # RS 5 -> 66.67
    assert len([c for c in SCALES if c.instrument == "QLQ-C30"]) == 15


def test_half_rule_boundary_pf_needs_three_of_five():
    assert not np.isnan(score_items(_row(q1=1, q2=2, q3=3)).iloc[0]["PF2"])
    assert np.isnan(score_items(_row(q1=1, q2=2)).iloc[0]["PF2"])


def test_my20_scales():
    items = {
        f"my{i}": v
        for i, v in zip(range(1, 21), [2] * 6 + [3] * 10 + [4] + [1, 2, None], strict=True)
    }
    s = score_items(_row(**{k: (np.nan if v is None else v) for k, v in items.items()})).iloc[0]
    assert s["MYDS"] == pytest.approx(100 / 3)
    assert s["MYSE"] == pytest.approx(200 / 3)
    assert s["MYBI"] == pytest.approx(0.0)  # functional: (1 - 3/3) * 100
    assert s["MYFP"] == pytest.approx((1 - (1.5 - 1) / 3) * 100)  # 2 of 3 items: 83.33


def test_change_from_baseline_against_mid():
    text = (
        "patient_id,date," + ",".join(f"q{i}" for i in range(1, 31)) + "\n"
        "A,2025-01-01," + ",".join(["1"] * 28) + ",6,6\n"
        "A,2025-03-01,"
        + ",".join(["1"] * 28)
        + ",5,5\n"  # QL2 83.33 -> 66.67: -16.7 >= 10: decline
        "A,2025-06-01," + ",".join(["1"] * 28) + ",6,5\n"
    )  # QL2 75.0: -8.3 within MID
    res = assess_qol(mio.read_qlq(io.StringIO(text)).frame)
    ql = res.changes[res.changes["scale"] == "QL2"]
    assert ql["status"].tolist() == ["decline", "within MID"]
    assert ql["change"].tolist() == pytest.approx([-100 / 6, -50 / 6])


def test_qlq_bad_answer_message():
    text = (
        "patient_id,date,"
        + ",".join(f"q{i}" for i in range(1, 31))
        + "\nA,2025-01-01,"
        + ",".join(["5"] + ["1"] * 29)
        + "\n"
    )
    with pytest.raises(
        ValueError, match=r"qlq.csv: row 1 \(line 2\), field 'q1': '5' is not an answer 1-4"
    ):
        mio.read_qlq(io.StringIO(text))
