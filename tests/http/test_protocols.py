"""GET /protocols: the rules as data."""

from __future__ import annotations

from scheduler.protocols_registry import protocols


def test_lists_every_protocol_with_its_rules(api):
    r = api.as_("front_desk").get("/api/v1/protocols")
    assert r.status_code == 200
    listed = {p["key"]: p for p in r.json["protocols"]}
    assert (
        set(listed)
        == set(protocols())
        >= {"ketamine-iv", "ketamine-im", "ketamine-lozenge-kap", "esketamine-trd", "tms-daily", "tms-accelerated"}
    )
    iv = listed["ketamine-iv"]
    assert iv["induction"]["total_doses"] == protocols()["ketamine-iv"].induction.total_doses
    assert iv["dose"]["capability"] == "iv" and iv["maintenance"]["unit"] == "months"
    assert api.get("/api/v1/protocols/tms-daily").json["key"] == "tms-daily"
    assert api.get("/api/v1/protocols/nope").status_code == 404
    assert api.as_(None).get("/api/v1/protocols").status_code == 401
