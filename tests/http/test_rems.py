"""Spravato REMS through the API: certification and enrollment recorded, esketamine refused without
them (409 rems_not_enrolled, whatever the override), a prescriber on site, the monitoring form
recorded by clinicians, redacted for the front desk, chased by rems_form_due / rems_form_overdue."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.support.builders import clinic_with_users, next_monday
from tests.support.rems import FORM, NY, dose, enroll, monday_at, past_dose, rems_clinic, second_patient


@pytest.fixture
def world(app):
    return rems_clinic(clinic_with_users()[0])


def flags(api, world, day: date) -> list[dict]:
    r = api.get(f"/api/v1/flags?clinic_id={world['clinic']}&start={day.isoformat()}&end={day.isoformat()}")
    assert r.status_code == 200, r.json
    return r.json["flags"]


def test_enrollment_fields_are_validated_by_name(api, world):
    base = f"/api/v1/patients/{world['patient']}"
    r = api.patch(base, json={"rems_enrollment_id": "SPR-PT-9"})
    assert r.status_code == 400 and r.json["error"]["field"] == "rems_enrolled_on"
    r = api.patch(base, json={"rems_enrolled_on": "2025-01-06"})
    assert r.status_code == 400 and r.json["error"]["field"] == "rems_enrollment_id"
    r = api.patch(base, json={"rems_enrollment_id": "SPR-PT-9", "rems_enrolled_on": "1990-01-01"})
    assert r.status_code == 400 and r.json["error"]["field"] == "rems_enrolled_on"
    made = api.post(
        "/api/v1/clinics",
        json={
            "name": "Certified",
            "timezone": "America/New_York",
            "hours": {"mon": [["08:00", "18:00"]]},
            "rems_certification_id": "SPR-HCS-1",
        },
    )
    assert made.status_code == 201 and made.json["rems_certification_id"] == "SPR-HCS-1"
    assert api.get(base).json["rems_enrollment_id"] is None


def test_esketamine_without_rems_is_refused_whatever_the_override(api, world):
    course = {
        "protocol": "esketamine-trd",
        "clinic_id": world["clinic"],
        "start_on": next_monday(datetime.now(NY).date()).isoformat(),
    }
    url = f"/api/v1/patients/{world['patient']}/courses"
    dry = api.post(url, json={**course, "dry_run": True})
    assert dry.status_code == 200, dry.json
    assert "rems_not_enrolled" in {p["code"] for p in dry.json["problems"]}
    refused = api.post(url, json={**course, "dry_run": False, "override_reason": "urgent"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "rems_not_enrolled", refused.json
    one = dose(api, world, monday_at(9), override_reason="urgent")
    assert one.status_code == 409 and one.json["error"]["code"] == "rems_not_enrolled"
    assert "REMS certification" in one.json["error"]["message"]
    enroll(api, world, patient=False)  # the clinic alone is not enough
    assert dose(api, world, monday_at(9)).json["error"]["code"] == "rems_not_enrolled"
    enroll(api, world, clinic=False)
    dry = api.post(url, json={**course, "dry_run": True})
    assert "rems_not_enrolled" not in {p["code"] for p in dry.json["problems"]}
    booked = api.post(url, json={**course, "dry_run": False})
    assert booked.status_code == 201, booked.json
    # a ketamine-iv dose (route iv) is not a REMS dose
    assert not [f for f in booked.json["flags"] if f["code"] in ("rems_not_enrolled", "prescriber_not_on_site")]


def test_a_reschedule_cannot_move_a_dose_before_the_enrollment(api, world):
    enroll(api, world)
    booked = dose(api, world, monday_at(9))
    assert booked.status_code == 201, booked.json
    api.patch(
        f"/api/v1/patients/{world['patient']}",
        json={"rems_enrolled_on": (monday_at(9).date() + timedelta(days=3)).isoformat()},
    )
    moved = api.post(
        f"/api/v1/sessions/{booked.json['id']}/reschedule",
        json={"version": booked.json["version"], "starts_at": monday_at(10).isoformat(), "override_reason": "x"},
    )
    assert moved.status_code == 409 and moved.json["error"]["code"] == "rems_not_enrolled", moved.json
    after = api.post(
        f"/api/v1/sessions/{booked.json['id']}/reschedule",
        json={"version": booked.json["version"], "starts_at": (monday_at(9) + timedelta(days=3)).isoformat()},
    )
    assert after.status_code == 200, after.json


def test_prescriber_not_on_site_appears_and_disappears(api, world):
    enroll(api, world)
    booked = dose(api, world, monday_at(9))
    assert booked.status_code == 201, booked.json
    day = monday_at(9).date()
    assert "prescriber_not_on_site" not in {f["code"] for f in flags(api, world, day)}
    off = api.post(
        f"/api/v1/staff/{world['prescriber']}/time_off",
        json={"starts_at": monday_at(10).isoformat(), "ends_at": monday_at(12).isoformat(), "reason": "course"},
    )
    assert off.status_code == 201, off.json
    found = [f for f in flags(api, world, day) if f["code"] == "prescriber_not_on_site"]
    assert [f["session_ids"] for f in found] == [[booked.json["id"]]] and found[0]["severity"] == "error"
    # another patient's dose in the prescriber's absence is refused, unless a reason is given (overridable)
    ben = second_patient(world)
    later = dose(api, ben, monday_at(10))
    assert later.status_code == 409 and later.json["error"]["code"] == "flagged"
    assert "prescriber_not_on_site" in {c["code"] for c in later.json["error"]["conflicts"]}
    ben_dose = dose(api, ben, monday_at(10), override_reason="Dr Osei reachable on call").json
    assert ben_dose["status"] == "booked" and ben_dose["override_reason"]
    moved = api.post(
        f"/api/v1/sessions/{booked.json['id']}/reschedule",
        json={"version": booked.json["version"], "starts_at": monday_at(12, 30).isoformat()},
    )
    assert moved.status_code == 200, moved.json
    still = [f["session_ids"] for f in flags(api, world, day) if f["code"] == "prescriber_not_on_site"]
    assert still == [[ben_dose["id"]]]  # Ana's dose after 12:00 has a prescriber on site; Ben's stays flagged


def test_one_nurse_checks_apart(api, world):
    enroll(api, world)
    assert dose(api, world, monday_at(9)).status_code == 201
    ben = second_patient(world)
    close = dose(api, ben, monday_at(9, 5))
    assert close.status_code == 201, close.json  # a warning: booked, and said
    assert "bp_checks_too_close" in {f["code"] for f in close.json["flags"]}
    found = [f for f in flags(api, world, monday_at(9).date()) if f["code"] == "bp_checks_too_close"]
    assert len(found) == 1 and found[0]["severity"] == "warning" and "Nurse Kim" in found[0]["message"]
    moved = api.post(
        f"/api/v1/sessions/{close.json['id']}/reschedule",
        json={"version": close.json["version"], "starts_at": monday_at(9, 15).isoformat()},
    )
    assert moved.status_code == 200, moved.json
    assert "bp_checks_too_close" not in {f["code"] for f in flags(api, world, monday_at(9).date())}


@pytest.mark.parametrize("days_ago, code", [(1, "rems_form_due"), (7, "rems_form_due"), (8, "rems_form_overdue")])
def test_the_form_is_chased_until_it_is_recorded(api, world, days_ago, code):
    enroll(api, world)
    s = past_dose(api, world, days_ago)
    day = date.fromisoformat(s["starts_at"][:10])
    found = {f["code"]: f for f in flags(api, world, day)}
    assert code in found and found[code]["session_ids"] == [s["id"]]
    assert found[code]["severity"] == ("warning" if code == "rems_form_due" else "error")
    other = {"rems_form_due", "rems_form_overdue"} - {code}
    assert not other & set(found)
    ready = datetime.fromisoformat(s["ends_at"]).isoformat()
    made = api.as_("clinician").post(f"/api/v1/sessions/{s['id']}/rems-form", json={**FORM, "ready_to_leave_at": ready})
    assert made.status_code == 201, made.json
    assert made.json["field_set"] == 1 and made.json["sedation"] == "mild"
    assert not {"rems_form_due", "rems_form_overdue"} & {f["code"] for f in flags(api, world, day)}


def test_no_form_is_due_on_the_day_itself_nor_for_a_no_show(api, world):
    enroll(api, world)
    s = past_dose(api, world, 2, status="no_show")
    assert not {"rems_form_due", "rems_form_overdue"} & {
        f["code"] for f in flags(api, world, date.fromisoformat(s["starts_at"][:10]))
    }


@pytest.mark.parametrize(
    "change, field",
    [
        ({"bp_before_systolic": 400}, "bp_before_systolic"),
        ({"bp_40min_diastolic": 150}, "bp_40min_diastolic"),  # not below the systolic 146
        ({"monitoring_minutes": 90}, "monitoring_reason"),
        ({"sedation": "drowsy"}, "sedation"),
        ({"ready_to_leave_at": "2001-01-01T09:00:00-05:00"}, "ready_to_leave_at"),
        ({"bp_discharge_systolic": None}, "bp_discharge_systolic"),
        ({"pulse": 70}, "pulse"),
    ],
)
def test_the_form_is_validated_by_field(api, world, change, field):
    enroll(api, world)
    s = past_dose(api, world, 1)
    body = {**FORM, "ready_to_leave_at": s["ends_at"], **change}
    r = api.as_("clinician").post(f"/api/v1/sessions/{s['id']}/rems-form", json=body)
    assert 400 <= r.status_code < 500 and r.json["error"]["field"] == field, r.json
    got = api.as_("clinician").get(f"/api/v1/sessions/{s['id']}/rems-form")
    assert got.status_code == 200 and got.json == {"session_id": s["id"], "needs_form": True, "form": None}


def test_a_short_monitoring_with_a_reason_is_accepted_and_a_correction_is_audited_and_redacted(api, world):
    enroll(api, world)
    s = past_dose(api, world, 2)
    url = f"/api/v1/sessions/{s['id']}/rems-form"
    clinician = api.as_("clinician")
    first = clinician.post(url, json={**FORM, "ready_to_leave_at": s["ends_at"]})
    assert first.status_code == 201
    fixed = clinician.post(
        url,
        json={
            **FORM,
            "ready_to_leave_at": s["ends_at"],
            "monitoring_minutes": 110,
            "monitoring_reason": "Transferred to ED for observation",
        },
    )
    assert fixed.status_code == 200 and fixed.json["monitoring_minutes"] == 110
    assert clinician.get(url).json["form"]["monitoring_reason"] == "Transferred to ED for observation"
    # the front desk never reads the content; the admin's audit shows that a form was filed, not what
    assert api.as_("front_desk").get(url).status_code == 403
    assert api.as_("front_desk").post(url, json=FORM).status_code == 403
    events = api.get("/api/v1/audit?entity_type=rems_monitoring_form").json["events"]
    assert {e["action"] for e in events} >= {"rems_form.create", "rems_form.update"}
    assert all(e["after"]["sedation"] != "mild" and e["after"]["session_id"] == s["id"] for e in events)
    log = api.get(f"/api/v1/access-log?patient_id={world['patient']}").json
    assert any(e["what"] == "rems_form" for e in log["entries"]), log


def test_a_form_only_for_a_rems_dose_that_took_place(api, world):
    enroll(api, world)
    ahead = dose(api, world, monday_at(9)).json
    r = api.as_("clinician").post(
        f"/api/v1/sessions/{ahead['id']}/rems-form", json={**FORM, "ready_to_leave_at": ahead["ends_at"]}
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "not_taken_place"
