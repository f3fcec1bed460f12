"""Component schemas of the OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 uses).

Response objects list every field as ``required`` and allow no other: the response-validation test
fails when a documented field disappears or an undocumented one appears.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from scheduler.domain.messaging import REMINDER_HOURS_KEYS
from scheduler.domain.vocabulary import (
    CAPABILITIES,
    INSTRUMENTS,
    SESSION_KINDS,
    SESSION_STATUSES,
    STAFF_ROLES,
    USER_ROLES,
)
from scheduler.models.feed_token import FEED_KINDS
from scheduler.services.access_log import WHAT as ACCESS_KINDS

STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
# Years FIRST_YEAR..LAST_YEAR, the server's one set of date bounds (parsing.within_bounds).
_YEARS = "(19\\d\\d|2[01]\\d\\d|2200)"
DATE = {"type": "string", "format": "date", "pattern": f"^{_YEARS}-"}
INSTANT = {"type": "string", "format": "date-time", "pattern": f"^{_YEARS}-"}
# The IANA zones the server accepts (parsing.timezone_field).
TIMEZONE = {"type": "string", "enum": sorted(available_timezones())}
HHMM = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}


def nullable(schema: dict) -> dict:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, *, required: list[str] | None = None, strict: bool = True) -> dict:
    """An object; ``required`` defaults to every property (responses)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }
    if strict:
        schema["additionalProperties"] = False
    return schema


def listing(key: str, item: str) -> dict:
    return obj({key: {"type": "array", "items": ref(item)}})


def enum(values) -> dict:
    return {"type": "string", "enum": list(values)}


WEEKLY = {
    "type": "object",
    "additionalProperties": False,
    "patternProperties": {
        "^(mon|tue|wed|thu|fri|sat|sun)$": {
            "type": "array",
            "items": {"type": "array", "items": HHMM, "minItems": 2, "maxItems": 2},
        }
    },
}

PATIENT = {
    "id": ID,
    "mrn": STR,
    "name": STR,
    "birth_date": DATE,
    "phone": nullable(STR),
    "email": nullable(STR),
    "ride_home_arranged": BOOL,
    "contact_preference": enum(("email", "sms", "none")),
    "contact_opted_out_at": nullable(INSTANT),
    # reason: null for roles that may not read clinical content (they see that a hold exists)
    "dosing_hold": nullable(obj({"reason": nullable(STR), "since": nullable(INSTANT)})),
    # the Spravato REMS enrollment (both null: not enrolled)
    "rems_enrollment_id": nullable(STR),
    "rems_enrolled_on": nullable(DATE),
}
# Per clinic: how many waitlisted patients a freed slot is messaged to at once, and reminder hours by kind.
CLINIC_SETTINGS = {
    "waitlist_auto_offer": {"type": "integer", "minimum": 0, "maximum": 20},
    "reminder_hours": {
        "type": ["object", "null"],
        "minProperties": 1,
        "propertyNames": {"enum": list(REMINDER_HOURS_KEYS)},
        "additionalProperties": {
            "type": "array",
            "maxItems": 6,
            "items": {"type": "integer", "minimum": 1, "maximum": 336},
        },
    },
    # the Spravato REMS healthcare-setting certification; null: not certified
    "rems_certification_id": nullable({**STR, "maxLength": 64}),
}
SCHEMAS: dict[str, dict] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": STR,
                    "message": STR,
                    "field": STR,
                    "conflicts": {"type": "array", "items": {"type": "object"}},
                },
                required=["code", "message"],
                strict=False,
            )
        }
    ),
    "Health": obj(
        {"status": STR, "database": enum(["sqlite", "postgresql"]), "protocols": {"type": "array", "items": STR}}
    ),
    "Closure": obj(
        {
            "id": ID,
            "clinic_id": ID,
            "starts_on": DATE,
            "ends_on": DATE,
            "from_time": nullable(HHMM),
            "until_time": nullable(HHMM),
            "reason": STR,
        }
    ),
    "Clinic": obj(
        {
            "id": ID,
            "name": STR,
            "timezone": STR,
            "hours": WEEKLY,
            "waitlist_auto_offer": INT,
            "reminder_hours": nullable({"type": "object"}),
            "rems_certification_id": nullable(STR),
            "closures": {"type": "array", "items": ref("Closure")},
        },
        required=["id", "name", "timezone", "hours", "waitlist_auto_offer", "reminder_hours", "rems_certification_id"],
    ),
    "Room": obj(
        {
            "id": ID,
            "clinic_id": ID,
            "name": STR,
            "capabilities": {"type": "array", "items": enum(CAPABILITIES)},
            "active": BOOL,
        }
    ),
    "TimeOff": obj({"id": ID, "starts_at": INSTANT, "ends_at": INSTANT, "reason": STR}),
    "StaffMember": obj(
        {
            "id": ID,
            "clinic_id": ID,
            "name": STR,
            "role": enum(STAFF_ROLES),
            "capacity": INT,
            "active": BOOL,
            "hours": nullable(WEEKLY),
            "time_off": {"type": "array", "items": ref("TimeOff")},
        }
    ),
    "Patient": obj(PATIENT),
    "Assessment": obj(
        {
            "id": ID,
            "patient_id": ID,
            "course_id": nullable(INT),
            "instrument": enum(INSTRUMENTS),
            "score": INT,
            "max_score": INT,
            "taken_on": DATE,
            "recorded_by_id": nullable(INT),
            "created_at": INSTANT,
        }
    ),
    "ClinicalNote": obj(
        {
            "id": ID,
            "patient_id": ID,
            "session_id": nullable(INT),
            "body": STR,
            "author_id": nullable(INT),
            "created_at": INSTANT,
        }
    ),
    "User": obj(
        {
            "id": ID,
            "email": STR,
            "role": enum(USER_ROLES),
            "staff_member_id": nullable(INT),
            "clinic_ids": {"type": "array", "items": ID},
            "active": BOOL,
            "has_password": BOOL,
            "created_at": INSTANT,
        }
    ),
    "ApiToken": obj({"id": ID, "user_id": ID, "label": STR, "created_at": INSTANT, "revoked_at": nullable(INSTANT)}),
    "NewApiToken": obj(
        {"id": ID, "user_id": ID, "label": STR, "created_at": INSTANT, "revoked_at": nullable(INSTANT), "token": STR}
    ),
    "AuditEvent": obj(
        {
            "id": ID,
            "at": INSTANT,
            "actor_id": nullable(INT),
            "actor": enum(["user", "cli", "system"]),
            "action": STR,
            "entity_type": STR,
            "entity_id": nullable(INT),
            "before": nullable({"type": "object"}),
            "after": nullable({"type": "object"}),
            "reason": nullable(STR),
        }
    ),
    "AccessLogEntry": obj(
        {"at": INSTANT, "user_id": ID, "patient_id": ID, "what": enum(list(ACCESS_KINDS)), "route": STR}
    ),
    "AccessLogPage": obj(
        {
            "entries": {"type": "array", "items": ref("AccessLogEntry")},
            "page": INT,
            "per_page": INT,
            "total": INT,
            "next_page": nullable(INT),
        }
    ),
    "AuditPage": obj(
        {
            "events": {"type": "array", "items": ref("AuditEvent")},
            "page": INT,
            "per_page": INT,
            "total": INT,
            "next_page": nullable(INT),
        }
    ),
    "Feed": obj(
        {
            "id": ID,
            "kind": enum(FEED_KINDS),
            "subject_id": ID,
            "created_by_id": nullable(INT),
            "created_at": INSTANT,
            "revoked_at": nullable(INSTANT),
        }
    ),
    "NewFeed": obj(
        {
            "id": ID,
            "kind": enum(FEED_KINDS),
            "subject_id": ID,
            "created_by_id": nullable(INT),
            "created_at": INSTANT,
            "revoked_at": nullable(INSTANT),
            "token": STR,
            "url": {"type": "string", "format": "uri"},
        }
    ),
    "Session": obj(
        {
            "id": ID,
            "clinic_id": ID,
            "patient_id": ID,
            "course_id": nullable(INT),
            "room_id": ID,
            "staff_member_id": nullable(INT),
            "kind": enum(SESSION_KINDS),
            "phase": nullable(STR),
            "sequence": nullable(INT),
            "route": nullable(STR),
            "dose_mg": nullable(STR),
            "starts_at": INSTANT,
            "ends_at": INSTANT,
            "status": enum(SESSION_STATUSES),
            "cancel_reason": nullable(STR),
            "cancelled_at": nullable(INSTANT),
            "override_reason": nullable(STR),
            "notes": nullable(STR),
            "version": INT,
            "confirmed_at": nullable(INSTANT),
            "ride_home_by": nullable(STR),
            "reschedule_requested_at": nullable(INSTANT),
        },
        strict=False,
    ),
    "Flag": obj(
        {
            "code": STR,
            "severity": enum(("error", "warning", "info")),
            "message": STR,
            "patient_id": nullable(INT),
            "session_ids": {"type": "array", "items": INT},
            "fix": nullable(STR),
        },
        strict=False,
    ),
    "NextDue": obj({"earliest": STR, "target": STR, "latest": STR}, strict=False),
    "Course": obj(
        {
            "id": ID,
            "patient_id": ID,
            "clinic_id": ID,
            "protocol": STR,
            "start_on": DATE,
            "preferences": {"type": "object"},
            "status": STR,
            "stopped_reason": nullable(STR),
        }
    ),
    # A patient search result: the demographics plus the open course and the next session.
    "PatientMatch": obj({**PATIENT, "open_course": nullable(ref("Course")), "next_session": nullable(ref("Session"))}),
    # A session; booking, reading and rescheduling answers add its flags.
    "BookedSession": {
        "allOf": [ref("Session"), obj({"flags": {"type": "array", "items": ref("Flag")}}, required=[], strict=False)]
    },
    "SessionList": obj(
        {"clinic_id": ID, "start": INSTANT, "end": INSTANT, "sessions": {"type": "array", "items": ref("Session")}}
    ),
    "CoursePlan": obj(
        {
            "course": nullable(ref("Course")),
            "protocol": STR,
            "dry_run": BOOL,
            "sessions": {
                "type": "array",
                "items": {"type": "object", "required": ["kind", "starts_at", "ends_at", "status"]},
            },
            "problems": {"type": "array", "items": {"type": "object"}},
            "flags": {"type": "array", "items": ref("Flag")},
            "next_due": nullable(ref("NextDue")),
            "replaced_course": nullable(ref("Course")),
            "cancelled_session_ids": {"type": "array", "items": ID},
        }
    ),
    "Replan": obj(
        {
            "applied": BOOL,
            "ok": BOOL,
            "reason": nullable({"type": "object"}),
            "new_sessions": {"type": "array", "items": {"type": "object"}},
            "moves": {"type": "array", "items": {"type": "object"}},
            "problems": {"type": "array", "items": {"type": "object"}},
        },
        required=["applied", "ok", "reason", "new_sessions", "moves", "problems"],
        strict=False,
    ),
    "Timeline": obj(
        {
            "patient": ref("Patient"),
            "courses": {"type": "array", "items": ref("Course")},
            "sessions": {"type": "array", "items": ref("Session")},
            "flags": {"type": "array", "items": ref("Flag")},
            "next_due": nullable(ref("NextDue")),
            "assessments": {"type": "array", "items": ref("Assessment")},
            "earlier_before": nullable({"type": "string", "format": "date-time"}),
        },
        required=["patient", "courses", "sessions", "flags", "next_due", "earlier_before"],
    ),
    "FlagList": obj({"clinic_id": ID, "start": DATE, "end": DATE, "flags": {"type": "array", "items": ref("Flag")}}),
    "DayBoard": obj(
        {
            "clinic": ref("Clinic"),
            "date": DATE,
            "hours": {"type": "array"},
            "closures": {"type": "array"},
            "open": {"type": "array"},
            "rooms": {"type": "array", "items": {"type": "object", "required": ["id", "name", "sessions", "idle"]}},
            "flags": {"type": "array", "items": ref("Flag")},
        }
    ),
    "Protocol": obj({"key": STR}, strict=False),
    "ProtocolList": obj({"protocols": {"type": "array", "items": ref("Protocol")}}),
}

# Request bodies: only the required ones are listed as required; unknown fields are refused (400).
REQUESTS: dict[str, dict] = {
    "NewClinic": obj(
        {"name": {**STR, "minLength": 1, "maxLength": 200}, "timezone": TIMEZONE, "hours": WEEKLY, **CLINIC_SETTINGS},
        required=["name", "timezone", "hours"],
    ),
    "ClinicChanges": obj({"name": {**STR, "minLength": 1, "maxLength": 200}, **CLINIC_SETTINGS}, required=[]),
    "NewClosure": obj(
        {
            "starts_on": DATE,
            "ends_on": DATE,
            "reason": {**STR, "maxLength": 200},
            "from_time": HHMM,
            "until_time": HHMM,
        },
        required=["starts_on"],
    ),
    "NewRoom": obj(
        {
            "clinic_id": ID,
            "name": {**STR, "minLength": 1, "maxLength": 100},
            "capabilities": {"type": "array", "items": enum(CAPABILITIES), "minItems": 1},
        },
        required=["clinic_id", "name", "capabilities"],
    ),
    "NewStaffMember": obj(
        {
            "clinic_id": ID,
            "name": {**STR, "minLength": 1, "maxLength": 200},
            "role": enum(STAFF_ROLES),
            "hours": WEEKLY,
            "capacity": {"type": "integer", "minimum": 1, "maximum": 20},
        },
        required=["clinic_id", "name", "role"],
    ),
    "NewTimeOff": obj(
        {"starts_at": INSTANT, "ends_at": INSTANT, "reason": {**STR, "maxLength": 200}},
        required=["starts_at", "ends_at"],
    ),
    "NewPatient": obj(
        {
            "mrn": {**STR, "minLength": 1, "maxLength": 64},
            "name": {**STR, "minLength": 1, "maxLength": 200},
            "birth_date": DATE,
            "phone": {**STR, "maxLength": 40},
            "email": {**STR, "maxLength": 200},
            "ride_home_arranged": BOOL,
            "contact_preference": enum(("email", "sms", "none")),
        },
        required=["mrn", "name", "birth_date"],
    ),
    "PatientChanges": obj(
        {
            "name": {**STR, "minLength": 1, "maxLength": 200},
            "birth_date": DATE,
            "phone": {**STR, "maxLength": 40},
            "email": {**STR, "maxLength": 200},
            "ride_home_arranged": BOOL,
            "contact_preference": enum(("email", "sms", "none")),
            "rems_enrollment_id": nullable({**STR, "maxLength": 64}),
            "rems_enrolled_on": nullable(DATE),
        },
        required=[],
    ),
    "NewAssessment": obj(
        {
            "instrument": {
                **enum(INSTRUMENTS),
                "description": (
                    "A rating scale, or motor_threshold: the TMS resting motor threshold, a measurement "
                    "(score: percent of machine output, 1-100)."
                ),
            },
            "score": {
                "type": "integer",
                "minimum": 0,
                "description": "Inside the instrument's range (motor_threshold: 1-100).",
            },
            "taken_on": DATE,
            "course_id": ID,
        },
        required=["instrument", "score", "taken_on"],
    ),
    "NewNote": obj({"body": {**STR, "minLength": 1, "maxLength": 20000}, "session_id": ID}, required=["body"]),
    "Reason": obj({"reason": {**STR, "minLength": 1, "maxLength": 500}}, required=["reason"]),
    "OptionalReason": obj({"reason": {**STR, "maxLength": 500}}, required=[]),
    "NewUser": obj(
        {
            "email": {**STR, "format": "email"},
            "role": enum(USER_ROLES),
            "password": {**STR, "minLength": 12, "maxLength": 200},
            "staff_member_id": ID,
            "clinic_ids": {"type": "array", "items": ID, "uniqueItems": True},
        },
        required=["email", "role"],
    ),
    "PasswordChange": obj(
        {"password": {**STR, "minLength": 12, "maxLength": 200}, "current_password": {**STR, "maxLength": 200}},
        required=["password"],
    ),
    "UserClinics": obj({"clinic_ids": {"type": "array", "items": ID, "uniqueItems": True}}, required=["clinic_ids"]),
    "NewToken": obj({"label": {**STR, "maxLength": 100}}, required=[]),
    "NewFeedRequest": obj({"kind": enum(FEED_KINDS), "id": ID}, required=["kind", "id"]),
    "NewSession": obj(
        {
            "patient_id": ID,
            "room_id": ID,
            "staff_member_id": ID,
            "kind": enum(SESSION_KINDS),
            "phase": STR,
            "sequence": INT,
            "route": STR,
            "dose_mg": {"type": ["number", "string"]},
            "course_id": ID,
            "starts_at": INSTANT,
            "ends_at": INSTANT,
            "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 720},
            "override_reason": STR,
            "notes": STR,
            "record_past": BOOL,
            "status": enum(("booked", "completed", "no_show", "cancelled")),
        },
        required=["patient_id", "room_id", "kind", "starts_at"],
    ),
    "Reschedule": obj(
        {
            "starts_at": INSTANT,
            "ends_at": INSTANT,
            "duration_minutes": INT,
            "room_id": ID,
            "staff_member_id": nullable(ID),
            "version": ID,
            "override_reason": STR,
            "move_dependents": BOOL,
        },
        required=["starts_at", "version"],
    ),
    "Cancel": obj({"reason": STR, "version": ID}, required=["reason", "version"]),
    "Version": obj({"version": ID}, required=["version"]),
    "ReplanRequest": obj({"apply": BOOL, "version": ID, "override_reason": STR}, required=[]),
    "NewCourse": obj(
        {
            "protocol": STR,
            "clinic_id": ID,
            "start_on": DATE,
            "preferences": obj(
                {
                    "weekdays": {"type": "array", "items": STR},
                    "earliest": HHMM,
                    "latest": HHMM,
                    "room_id": ID,
                    "staff_member_id": ID,
                },
                required=[],
            ),
            "dry_run": BOOL,
            "override_reason": STR,
            "include_maintenance": BOOL,
            "replaces_course_id": ID,
            "stop_reason": {**STR, "maxLength": 500},
        },
        required=["protocol", "clinic_id", "start_on"],
    ),
}
