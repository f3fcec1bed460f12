"""The contract cases issue 14 lists, each answered as the OpenAPI document says."""

from __future__ import annotations

from tests.support import builders
from tests.support.openapi_check import OpenApiChecker


def test_listed_cases(api):
    w = builders.small_clinic()
    doc = api.as_(None).get("/api/v1/openapi.json").json
    checker = OpenApiChecker(doc)
    admin = api.as_("admin")
    # An empty filter is a 400 naming it, not a 500.
    answer = admin.get(f"/api/v1/sessions?clinic_id={w.clinic.id}&status=")
    assert answer.status_code == 400 and answer.json["error"]["field"] == "status"
    # Time off in 1850 (a local-mean-time offset like -04:56:02) is refused, not stored.
    answer = admin.post(
        f"/api/v1/staff/{w.nurse.id}/time_off",
        json={"starts_at": "1850-04-01T08:00:00-04:00", "ends_at": "1850-04-01T12:00:00-04:00"},
    )
    assert answer.status_code == 400 and answer.json["error"]["field"] == "starts_at"
    # 405s name the methods allowed.
    answer = admin.delete("/api/v1/rooms")
    assert answer.status_code == 405 and set(answer.headers["Allow"].split(", ")) >= {"GET", "POST"}
    # The token body is optional: none at all is fine.
    user = admin.post("/api/v1/users", json={"email": "t@clinic.test", "role": "clinician"}).json
    answer = admin.post(f"/api/v1/users/{user['id']}/tokens")
    assert answer.status_code == 201, answer.json
    checker.check("POST", f"/api/v1/users/{user['id']}/tokens", answer)
    # A dosing hold's reason is null for the front desk, and the document says it may be.
    api.as_("clinician").post(f"/api/v1/patients/{w.patient.id}/dosing_hold", json={"reason": "BP high"})
    answer = api.as_("front_desk").get(f"/api/v1/patients/{w.patient.id}")
    assert answer.json["dosing_hold"]["reason"] is None
    checker.check("GET", f"/api/v1/patients/{w.patient.id}", answer)
    # Times like 97:27 are outside the document's pattern, as the server refuses them.
    schema = doc["components"]["schemas"]["NewClosure"]["properties"]["from_time"]
    import re

    assert not re.match(schema["pattern"], "97:27") and re.match(schema["pattern"], "23:59")
