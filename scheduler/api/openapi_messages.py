"""OpenAPI entries of the reminder and waitlist loop (the outbox, the waitlist), of payer authorizations
and of the REMS Patient Monitoring Form."""

from __future__ import annotations

from scheduler.api.openapi_schemas import BOOL, DATE, HHMM, ID, INSTANT, INT, STR, enum, nullable, obj, ref
from scheduler.domain.vocabulary import SESSION_KINDS, WEEKDAYS
from scheduler.models.message import MESSAGE_CHANNELS, MESSAGE_KINDS, MESSAGE_STATUSES
from scheduler.models.waitlist_entry import WAITLIST_STATUSES
from scheduler.models.waitlist_offer import OFFER_STATUSES

PREFERENCES = obj(
    {"weekdays": {"type": "array", "items": enum(WEEKDAYS), "minItems": 1}, "earliest": HHMM, "latest": HHMM},
    required=[],
)
SCHEMAS = {
    "Message": obj(
        {
            "id": ID,
            "kind": enum(MESSAGE_KINDS),
            "channel": enum(MESSAGE_CHANNELS),
            "to": STR,
            "patient_id": ID,
            "session_id": nullable(INT),
            "offer_id": nullable(INT),
            "due_at": INSTANT,
            "status": enum(MESSAGE_STATUSES),
            "attempts": INT,
            "sent_at": nullable(INSTANT),
            "last_error": nullable(STR),
        }
    ),
    "MessagePage": obj(
        {
            "messages": {"type": "array", "items": ref("Message")},
            "page": INT,
            "per_page": INT,
            "total": INT,
            "next_page": nullable(INT),
        }
    ),
    "WaitlistEntry": obj(
        {
            "id": ID,
            "patient_id": ID,
            "clinic_id": ID,
            "kind": enum(SESSION_KINDS),
            "protocol": nullable(STR),
            "earliest_on": DATE,
            "latest_on": DATE,
            "preferences": PREFERENCES,
            "status": enum(WAITLIST_STATUSES),
            "session_id": nullable(INT),
            "created_at": INSTANT,
        }
    ),
    "WaitlistOffer": obj(
        {
            "id": ID,
            "entry_id": ID,
            "clinic_id": ID,
            "room_id": ID,
            "staff_member_id": nullable(INT),
            "starts_at": INSTANT,
            "ends_at": INSTANT,
            "status": enum(OFFER_STATUSES),
            "freed_session_id": nullable(INT),
            "session_id": nullable(INT),
            "created_at": INSTANT,
        }
    ),
    "WaitlistList": obj({"entries": {"type": "array", "items": ref("WaitlistEntry")}}),
    "OfferList": obj({"offers": {"type": "array", "items": ref("WaitlistOffer")}}),
    "AcceptedOffer": obj({"offer": ref("WaitlistOffer"), "session": ref("BookedSession")}),
}
SCHEMAS["Authorization"] = obj(
    {
        "id": ID,
        "protocol": STR,
        "payer": STR,
        "reference": STR,
        "units_authorized": INT,
        "valid_from": DATE,
        "valid_to": DATE,
        "units_used": INT,
        "units_left": INT,
    }
)
SCHEMAS["AuthorizationList"] = obj({"authorizations": {"type": "array", "items": ref("Authorization")}})
AUTHORIZATION_FIELDS = {
    "payer": {**STR, "minLength": 1, "maxLength": 200},
    "reference": {**STR, "minLength": 1, "maxLength": 100},
    "protocol": {**STR, "minLength": 1, "maxLength": 64},
    "units_authorized": {"type": "integer", "minimum": 1, "maximum": 1000},
    "valid_from": DATE,
    "valid_to": DATE,
}


def _form_field(f) -> dict:
    from scheduler.domain.rems_form import BP_RANGES

    if f.kind in BP_RANGES:
        lo, hi = BP_RANGES[f.kind]
        return {"type": "integer", "minimum": lo, "maximum": hi}
    if f.kind == "minutes":
        return {"type": "integer", "minimum": 0, "maximum": 720}
    if f.kind == "choice":
        return enum(f.choices)
    if f.kind == "instant":
        return INSTANT
    return nullable({**STR, "maxLength": 500 if f.name == "monitoring_reason" else 4000})


def _rems_form_fields() -> dict:
    from scheduler.domain.rems_form import FIELDS

    return {f.name: _form_field(f) for f in FIELDS}


REMS_FORM_FIELDS = _rems_form_fields()
SCHEMAS["RemsForm"] = obj(
    {
        "id": ID,
        "session_id": ID,
        "patient_id": ID,
        "field_set": INT,
        "recorded_by_id": nullable(INT),
        "created_at": INSTANT,
        "updated_at": nullable(INSTANT),
        **REMS_FORM_FIELDS,
    }
)
SCHEMAS["RemsFormOfSession"] = obj({"session_id": ID, "needs_form": BOOL, "form": nullable(ref("RemsForm"))})
REQUESTS = {
    "NewRemsForm": obj(
        REMS_FORM_FIELDS, required=[n for n in REMS_FORM_FIELDS if n not in ("monitoring_reason", "adverse_events")]
    ),
    "NewAuthorization": obj(AUTHORIZATION_FIELDS, required=list(AUTHORIZATION_FIELDS)),
    "AuthorizationChanges": obj(AUTHORIZATION_FIELDS, required=[]),
    "NewWaitlistEntry": obj(
        {
            "patient_id": ID,
            "clinic_id": ID,
            "kind": enum(SESSION_KINDS),
            "protocol": {**STR, "maxLength": 64},
            "earliest_on": DATE,
            "latest_on": DATE,
            "preferences": PREFERENCES,
        },
        required=["patient_id", "clinic_id", "kind", "earliest_on", "latest_on"],
    ),
}


def operations(op, q, write_errors, id_query) -> dict:
    def status(choices, default):
        return q(
            "status",
            f"One of {', '.join(choices)} or all (default {default})",
            {"type": "string", "enum": [*choices, "all"]},
        )

    return {
        ("GET", "/messages"): op(
            "The outbox, latest due first (withdrawn messages stay listed)",
            returns="MessagePage",
            errors=(400,),
            params=[
                q("status", "pending, sent, failed or withdrawn", {"type": "string", "enum": list(MESSAGE_STATUSES)}),
                q("session_id", "Only about this session", id_query),
                q("page", "1-based page", {"type": "integer", "minimum": 1, "maximum": 1000000}),
                q("per_page", "Messages per page (default 50)", {"type": "integer", "minimum": 1, "maximum": 200}),
            ],
        ),
        ("POST", "/sessions/{session_id}/rems-form"): op(
            "Record (or correct) the REMS Patient Monitoring Form of an esketamine session that took place "
            "(clinicians; 201 new, 200 corrected)",
            body="NewRemsForm",
            ok=201,
            returns="RemsForm",
            errors=write_errors,
        ),
        ("GET", "/sessions/{session_id}/rems-form"): op(
            "The session's REMS Patient Monitoring Form, null while none is recorded (clinicians; the read is logged)",
            returns="RemsFormOfSession",
        ),
        ("POST", "/patients/{patient_id}/authorizations"): op(
            "Record a payer authorization (units between two dates) for a patient's protocol",
            body="NewAuthorization",
            ok=201,
            returns="Authorization",
            errors=write_errors,
        ),
        ("GET", "/patients/{patient_id}/authorizations"): op(
            "A patient's authorizations with the units used (booked, checked in, completed doses)",
            returns="AuthorizationList",
        ),
        ("PATCH", "/patients/{patient_id}/authorizations/{authorization_id}"): op(
            "Change an authorization (more units, new dates)",
            body="AuthorizationChanges",
            returns="Authorization",
            errors=write_errors,
        ),
        ("POST", "/waitlist"): op(
            "Put a patient on the waitlist for a kind of session",
            body="NewWaitlistEntry",
            ok=201,
            returns="WaitlistEntry",
            errors=write_errors,
        ),
        ("GET", "/waitlist"): op(
            "A clinic's waitlist, first come first",
            returns="WaitlistList",
            errors=(400, 404),
            params=[q("clinic_id", "The clinic", id_query, required=True), status(WAITLIST_STATUSES, "waiting")],
        ),
        ("POST", "/waitlist/{entry_id}/remove"): op(
            "Take an entry off the waitlist (kept, audited)",
            body="OptionalReason",
            returns="WaitlistEntry",
            errors=write_errors,
        ),
        ("GET", "/waitlist/offers"): op(
            "Freed slots offered to waitlisted patients (the front desk's worklist)",
            returns="OfferList",
            errors=(400, 404),
            params=[q("clinic_id", "The clinic", id_query, required=True), status(OFFER_STATUSES, "open")],
        ),
        ("POST", "/waitlist/offers/{offer_id}/accept"): op(
            "Accept an offer for the patient: books it (409 slot_taken when someone else was first)",
            ok=201,
            returns="AcceptedOffer",
            errors=write_errors,
        ),
    }
