"""Profile validation: every bad value is named with a precise message (plateau.decide.profile)."""

from __future__ import annotations

import json

import pytest

from plateau.decide import Profile, ProfileError, load_profile, parse_profile, profile_from_form
from plateau.errors import PlateauError

BASE = {"age": 60, "sex": "male", "transplant_status": "post_asct", "response": "VGPR"}


def errors_of(data):
    with pytest.raises(ProfileError) as info:
        parse_profile(data)
    return dict(info.value.errors)


def test_minimal_profile_and_defaults():
    p = parse_profile(BASE)
    assert isinstance(p, Profile)
    assert (p.setting, p.mrd_status, p.neuropathy_grade, p.creatinine_clearance) == (
        "post_asct",
        "unknown",
        0,
        None,
    )
    assert parse_profile({**BASE, "transplant_status": "not_eligible"}).setting == "non_transplant"


def test_missing_required_fields_are_each_named():
    errs = errors_of({})
    assert errs == {
        "age": "is required",
        "sex": "is required",
        "transplant_status": "is required",
        "response": "is required",
    }


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("age", "sixty", "must be a whole number of years (got 'sixty')"),
        ("age", 60.5, "must be a whole number of years (got 60.5)"),
        ("age", 12, "must be between 18 and 110 years (got 12)"),
        ("sex", "M", "must be one of female, male (got 'M')"),
        (
            "response",
            "vgpr",
            "must be one of sCR, CR, VGPR, PR (got 'vgpr') (did you mean 'VGPR'?)",
        ),
        (
            "transplant_status",
            "eligible",
            "must be one of post_asct, not_eligible (got 'eligible')",
        ),
        ("del_17p", "yes", "must be true, false or null (not known) (got 'yes')"),
        ("thromboembolism_history", 1, "must be true or false (got 1)"),
        ("neuropathy_grade", 5, "must be a CTCAE grade 0, 1, 2, 3 or 4 (got 5)"),
        ("crcl_ml_min", 0, "must be between 1 and 250 mL/min (got 0)"),
        ("crcl_ml_min", "n/a", "must be a number in mL/min (got 'n/a')"),
        ("r2_iss_stage", "V", "must be one of I, II, III, IV (got 'V')"),
    ],
)
def test_bad_values_have_exact_messages(field, value, message):
    assert errors_of({**BASE, field: value})[field] == message


def test_unknown_field_is_rejected():
    errs = errors_of({**BASE, "agee": 61})
    assert errs["agee"].startswith("unknown field; allowed fields: age, sex,")


def test_error_text_names_origin_and_every_field():
    with pytest.raises(PlateauError) as info:
        parse_profile({**BASE, "age": 5, "sex": "x"}, origin="patient.json")
    assert str(info.value) == (
        "patient.json: age: must be between 18 and 110 years (got 5); "
        "sex: must be one of female, male (got 'x')"
    )


def test_renal_inputs_cross_checks():
    assert errors_of({**BASE, "creatinine_mg_dl": 1.0})["weight_kg"] == (
        "is needed with creatinine to compute creatinine clearance (Cockcroft-Gault)"
    )
    assert errors_of({**BASE, "weight_kg": 70})["creatinine_mg_dl"] == (
        "is needed with weight_kg to compute creatinine clearance (or give creatinine_umol_l)"
    )
    assert (
        errors_of({**BASE, "weight_kg": 70, "creatinine_mg_dl": 1, "creatinine_umol_l": 88})[
            "creatinine_umol_l"
        ]
        == "give creatinine in mg/dL or in umol/L, not both"
    )
    assert errors_of({**BASE, "weight_kg": 70, "creatinine_mg_dl": 1, "crcl_ml_min": 50})[
        "crcl_ml_min"
    ] == (
        "give either crcl_ml_min or weight_kg with creatinine (computed by Cockcroft-Gault), not "
        "both"
    )


def test_staging_consistency():
    errs = errors_of({**BASE, "r_iss_stage": "I", "del_17p": True, "iss_stage": "II"})
    assert errs["r_iss_stage"] in (
        "R-ISS I requires standard-risk cytogenetics, but del(17p) is marked present",
        "R-ISS I requires ISS I, but iss_stage is II",
    )
    with pytest.raises(ProfileError) as info:
        parse_profile({**BASE, "r_iss_stage": "I", "del_17p": True, "iss_stage": "II"})
    assert [m for f, m in info.value.errors if f == "r_iss_stage"] == [
        "R-ISS I requires standard-risk cytogenetics, but del(17p) is marked present",
        "R-ISS I requires ISS I, but iss_stage is II",
    ]
    assert errors_of({**BASE, "r_iss_stage": "III", "iss_stage": "II"})["r_iss_stage"] == (
        "R-ISS III requires ISS III, but iss_stage is II"
    )
    assert errors_of({**BASE, "neuropathic_pain": True})["neuropathic_pain"] == (
        "neuropathic pain was ticked but neuropathy_grade is 0"
    )


def test_cockcroft_gault_spec_test_vectors():
    """Clinical-rules spec 3.6 (C2): man 65 y, 80 kg, SCr 1.1 mg/dL -> 75.8 mL/min; woman 45 y,
    65 kg, SCr 0.9 -> 80.9; SI creatinine: 97.262 umol/L = 1.1 mg/dL (x 88.42)."""
    man = parse_profile({**BASE, "age": 65, "weight_kg": 80, "creatinine_mg_dl": 1.1})
    assert man.creatinine_clearance == pytest.approx(75.8, abs=0.05)
    assert man.crcl_method == "Cockcroft-Gault (actual body weight)"
    woman = parse_profile(
        {**BASE, "age": 45, "sex": "female", "weight_kg": 65, "creatinine_mg_dl": 0.9}
    )
    # 95 * 65 / 64.8 * 0.85 = 80.999; the calculator quoted in the spec truncates to 80.9
    assert woman.creatinine_clearance == pytest.approx(80.999228, abs=1e-6)
    si = parse_profile({**BASE, "age": 65, "weight_kg": 80, "creatinine_umol_l": 1.1 * 88.42})
    assert si.creatinine_clearance == pytest.approx(man.creatinine_clearance, rel=1e-12)
    entered = parse_profile({**BASE, "crcl_ml_min": 42})
    assert (entered.creatinine_clearance, entered.crcl_method) == (42.0, "as entered")


def test_form_values_are_typed():
    data = profile_from_form(
        {
            "age": "61",
            "sex": "female",
            "transplant_status": "post_asct",
            "response": "CR",
            "del_17p": "present",
            "t_4_14": "absent",
            "t_14_16": "",
            "dialysis": "on",
            "weight_kg": "",
        }
    )
    assert data["del_17p"] is True and data["t_4_14"] is False and data["t_14_16"] is None
    assert (
        data["dialysis"] is True
        and data["thromboembolism_history"] is False
        and "weight_kg" not in data
    )
    assert parse_profile(data).age == 61


def test_load_profile_file_errors(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(PlateauError, match=r"p.json: not valid JSON: .* \(line 1, column 2\)"):
        load_profile(bad)
    with pytest.raises(PlateauError, match="no such profile file"):
        load_profile(tmp_path / "missing.json")
    good = tmp_path / "g.json"
    good.write_text(json.dumps(BASE), encoding="utf-8")
    assert load_profile(good).response == "VGPR"
