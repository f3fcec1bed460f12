"""Booking through FHIR after the IHE ITI Scheduling profile (ITI-115 $find, ITI-116 $hold,
ITI-117 $book), plus $cancel and cancelling by a status update (PUT).

* ``Appointment/$find`` (GET query or POST Parameters: ``start``, ``end``, ``service-type``
  ``urn:scheduler:session-kind|<kind>``, ``location`` Location/<room> or Location/clinic-<id>,
  ``patient`` Patient/<id>) → a Bundle of ``proposed`` Appointments from the product's slot search.
* ``Appointment/$hold`` (Parameters ``appointment``: a proposed Appointment) → the ``pending``
  Appointment ``hold-<id>``; its Slot is ``busy-tentative`` and offered to no one else until the
  hold expires (``FHIR_HOLD_MINUTES``).
* ``Appointment/$book`` (Parameters ``appointment``: the held, or a proposed, Appointment) → the
  ``booked`` Appointment, written by the booking service (same checks, same constraints).
* ``Appointment/<id>/$cancel`` (Parameters ``reason`` optional) or ``PUT Appointment/<id>`` with
  ``status: cancelled`` → cancelled (a session keeps its row; a hold is released).

All audited (the services record every change); retries are idempotent (the same hold, the same
booking, an already cancelled appointment answer again; ``Idempotency-Key`` is honoured too).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import select

from scheduler import access
from scheduler.api.idempotency import idempotent
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.domain.vocabulary import SESSION_KINDS
from scheduler.errors import NotFound, UnprocessableError, ValidationError
from scheduler.fhir import base_url, bp, fhir_response
from scheduler.fhir import parameters as schemas
from scheduler.fhir import search as s
from scheduler.fhir.appointments import (
    KIND_SYSTEM,
    STATUS,
    appointment,
    hold_appointment,
    load_hold,
    load_session,
    service_type,
)
from scheduler.fhir.capability import OPERATIONS
from scheduler.fhir.search import MRN_SYSTEM
from scheduler.limits import check_text
from scheduler.models import Clinic, Patient, Room, StaffMember, utcnow
from scheduler.services import booking, holds, inputs, scope, sessions

MAX_FIND_DAYS = 31
CANCEL_REASON_MAX = schemas.CANCEL_REASON_MAX


def _definition(code: str, title: str, instance: bool, params: list[tuple]) -> dict:
    return {
        "resourceType": "OperationDefinition",
        "id": code,
        "name": title.replace(" ", ""),
        "title": title,
        "status": "active",
        "kind": "operation",
        "code": code,
        "resource": ["Appointment"],
        "system": False,
        "type": not instance,
        "instance": instance,
        "parameter": [
            {"name": n, "use": use, "min": lo, "max": hi, "type": t, "documentation": doc}
            for n, use, lo, hi, t, doc in params
        ],
    }


APPOINTMENT_OUT = ("return", "out", 1, "1", "Appointment", "The resulting Appointment")
OPERATIONS.update(
    {
        "find": (
            "Appointment",
            _definition(
                "find",
                "Find appointments",
                False,
                [
                    (
                        "start",
                        "in",
                        0,
                        "1",
                        "dateTime",
                        "Earliest start (a date in the clinic's zone, or a dateTime; default now)",
                    ),
                    ("end", "in", 0, "1", "dateTime", "Latest end (default start + 10 days; 31 days at most)"),
                    ("service-type", "in", 1, "1", "string", f"The session kind: {KIND_SYSTEM}|<kind>"),
                    (
                        "location",
                        "in",
                        0,
                        "1",
                        "string",
                        "Location/<room id> or Location/clinic-<id> (default: the patient's open course's clinic)",
                    ),
                    ("patient", "in", 1, "1", "string", "Patient/<id>"),
                    ("return", "out", 1, "1", "Bundle", "Proposed Appointments (status proposed)"),
                ],
            ),
        ),
        "hold": (
            "Appointment",
            _definition(
                "hold",
                "Hold an appointment",
                False,
                [("appointment", "in", 1, "1", "Appointment", "A proposed Appointment (from $find)"), APPOINTMENT_OUT],
            ),
        ),
        "book": (
            "Appointment",
            _definition(
                "book",
                "Book an appointment",
                False,
                [
                    ("appointment", "in", 1, "1", "Appointment", "The held Appointment (hold-<id>) or a proposed one"),
                    APPOINTMENT_OUT,
                ],
            ),
        ),
        "cancel": (
            "Appointment",
            _definition(
                "cancel",
                "Cancel an appointment",
                True,
                [("reason", "in", 0, "1", "string", "Why (kept with the record)"), APPOINTMENT_OUT],
            ),
        ),
    }
)


# --- reading the inputs ------------------------------------------------------------------------


def _parameters(schema: dict) -> dict[str, list[dict]]:
    """The body, checked against the operation's documented schema (scheduler/fhir/parameters.py)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise ValidationError(
            'The body must be a FHIR Parameters resource ({"resourceType": "Parameters", "parameter": [...]}).',
            field="Parameters",
        )
    schemas.check(body, schema)
    params = body.get("parameter", [])
    out: dict[str, list[dict]] = {}
    for p in params:
        out.setdefault(p["name"], []).append(p)
    return out


def _value(param: dict, name: str) -> str:
    """A parameter's value as text: valueString/Code/Uri/Date/DateTime/Instant, valueReference,
    valueCoding or valueIdentifier (as system|value)."""
    for key in ("valueString", "valueCode", "valueUri", "valueDate", "valueDateTime", "valueInstant", "valueId"):
        if isinstance(param.get(key), str):
            return param[key]
    if isinstance(param.get("valueReference"), dict) and isinstance(param["valueReference"].get("reference"), str):
        return param["valueReference"]["reference"]
    for key, field in (("valueCoding", "code"), ("valueIdentifier", "value")):
        if isinstance(param.get(key), dict) and isinstance(param[key].get(field), str):
            return f"{param[key].get('system', '')}|{param[key][field]}"
    raise ValidationError(
        f"{name}: give a value (valueString, valueDateTime, valueReference, valueCoding...).", field=name
    )


def _find_inputs() -> dict[str, str]:
    names = ("start", "end", "service-type", "location", "patient")
    if request.method == "GET":
        raw = {n: v for n in names if (v := request.args.get(n)) is not None}
        for name in names:
            if len(request.args.getlist(name)) > 1:
                raise ValidationError(f"{name} may be given once.", field=name)
        missing = [n for n in schemas.FIND_QUERY_REQUIRED if n not in raw]
        if missing:
            raise ValidationError(f"{missing[0]} is required.", field=missing[0])
        for name, value in raw.items():
            schemas.check(value, schemas.FIND_QUERY[name], name)
        unknown = [n for n in request.args if n not in names and n != "_format"]
    else:
        params = _parameters(schemas.FIND)
        raw = {n: _value(params[n][0], n) for n in names if n in params}
        unknown = [n for n in params if n not in names]
    if unknown and s.strict():
        raise ValidationError(f"Unknown parameter {unknown[0]!r} (Prefer: handling=strict).", field=unknown[0])
    return {k: v.strip() for k, v in raw.items()}


def _kind(raw: str | None, field: str = "service-type") -> str:
    if not raw:
        raise ValidationError(
            f"{field} is required: {KIND_SYSTEM}|<kind>, kind one of {', '.join(SESSION_KINDS)}.", field=field
        )
    system, bar, code = raw.rpartition("|")
    if bar and system and system != KIND_SYSTEM:
        raise ValidationError(f"{field}: the code system is {KIND_SYSTEM}, not {system!r}.", field=field)
    if code not in SESSION_KINDS:
        raise ValidationError(f"{field}: {code!r} is not a session kind ({', '.join(SESSION_KINDS)}).", field=field)
    return code


def _patient(raw: str | None) -> Patient:
    if not raw:
        raise ValidationError("patient is required (Patient/<id>).", field="patient")
    if "|" in raw:
        mrn = s.identifier_values(raw, "patient", MRN_SYSTEM)[0]
        row = db_session.scalar(select(Patient).where(Patient.mrn == mrn))
    else:
        ((_, ident),) = s.reference_ids(raw, "patient", ("Patient",))
        row = db_session.get(Patient, s.numeric(ident)) if s.numeric(ident) is not None else None
    if row is None or not scope.may_see_patient(row.id):
        raise NotFound(f"No patient {raw}.", field="patient")
    return row


def _location(raw: str | None, patient: Patient) -> tuple[int, int | None]:
    """(clinic id, room id or None)."""
    if not raw:
        course = _any_open_course(patient.id)
        if course is None:
            only = db_session.scalars(select(Clinic.id).where(scope.clinic_clause(Clinic.id)).limit(2)).all()
            if len(only) != 1:
                raise UnprocessableError(
                    "location is required (Location/<room id> or Location/clinic-<id>): the "
                    "patient has no open course to say which clinic.",
                    field="location",
                )
            return only[0], None
        return course.clinic_id, None
    ((_, ident),) = s.reference_ids(raw, "location", ("Location",))
    if ident.startswith("clinic-"):
        number = s.numeric(ident.removeprefix("clinic-"))
        clinic = db_session.get(Clinic, number) if number is not None else None
        if clinic is None or not scope.may_see_clinic(clinic.id):
            raise NotFound(f"No clinic {raw}.", field="location")
        return clinic.id, None
    room = db_session.get(Room, s.numeric(ident)) if s.numeric(ident) is not None else None
    if room is None or not scope.may_see_clinic(room.clinic_id):
        raise NotFound(f"No room {raw}.", field="location")
    return room.clinic_id, room.id


def _any_open_course(patient_id: int):
    from scheduler.models import Course
    from scheduler.services.directory import OPEN_COURSE_STATUSES

    return db_session.scalars(
        select(Course)
        .where(Course.patient_id == patient_id, Course.status.in_(OPEN_COURSE_STATUSES))
        .order_by(Course.start_on.desc())
    ).first()


def _bound(raw: str | None, name: str, tz: str, *, end: bool) -> datetime | None:
    if not raw:
        return None
    test = s.DateTest("eq", raw, name)
    lo, hi = test.bounds(tz)
    if not s.FIRST_YEAR <= lo.year <= s.LAST_YEAR:
        raise ValidationError(f"{name}: years run from {s.FIRST_YEAR} to {s.LAST_YEAR}.", field=name)
    return (hi if "T" not in raw else lo) if end else lo


def _instant(value, field: str) -> datetime:
    if not isinstance(value, str):
        raise ValidationError(f"{field} is required (a dateTime with offset).", field=field)
    try:
        moment = s.DateTest("eq", value, field).bounds("UTC")[0] if "T" in value else None
    except ValidationError:
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT.*", value):
            raise
        raise UnprocessableError(f"{field}: {value!r} is not a moment of the calendar.", field=field) from None
    if moment is None:
        raise ValidationError(f"{field} must be a dateTime with offset.", field=field)
    return moment


def _appointment_param(schema: dict) -> dict:
    params = _parameters(schema)
    got = params.get("appointment", [])
    if (
        len(got) != 1
        or not isinstance(got[0].get("resource"), dict)
        or got[0]["resource"].get("resourceType") != "Appointment"
    ):
        raise ValidationError("Give one parameter 'appointment' whose resource is an Appointment.", field="appointment")
    return got[0]["resource"]


def _request_from(resource: dict) -> booking.SessionRequest:
    """A proposed Appointment (as $find answers it) → the booking it asks for."""
    kinds = [
        c.get("code")
        for st in resource.get("serviceType", [])
        if isinstance(st, dict)
        for c in st.get("coding", [])
        if isinstance(c, dict) and c.get("system") == KIND_SYSTEM and c.get("code") in SESSION_KINDS
    ]
    kind = _kind(f"{KIND_SYSTEM}|{kinds[0]}" if kinds else None, "appointment.serviceType")
    starts_at = _instant(resource.get("start"), "appointment.start")
    ends_at = _instant(resource.get("end"), "appointment.end")
    actors: dict[str, str] = {}
    for p in resource.get("participant", []):
        ref = (p.get("actor") or {}).get("reference") if isinstance(p, dict) else None
        if isinstance(ref, str) and "/" in ref:
            kind_of, _, ident = ref.rsplit("/fhir/", 1)[-1].partition("/")
            actors[kind_of] = ident
    patient = _patient(f"Patient/{actors['Patient']}" if "Patient" in actors else None)
    if "Location" not in actors or s.numeric(actors["Location"]) is None:
        raise ValidationError(
            "appointment.participant needs a Location/<room id> actor.", field="appointment.participant"
        )
    room = db_session.get(Room, s.numeric(actors["Location"]))
    if room is None or not scope.may_see_clinic(room.clinic_id):
        raise NotFound(f"No room Location/{actors['Location']}.", field="appointment.participant")
    staff_id = None
    if "Practitioner" in actors:
        staff_id = s.numeric(actors["Practitioner"])
        if staff_id is None or db_session.get(StaffMember, staff_id) is None:
            raise NotFound(f"No practitioner Practitioner/{actors['Practitioner']}.", field="appointment.participant")
    new = holds.new_session(patient.id, room.clinic_id, kind)
    return booking.SessionRequest(
        clinic_id=room.clinic_id,
        patient_id=patient.id,
        room_id=room.id,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        staff_member_id=staff_id,
        course_id=new.course_id,
        phase=new.phase,
        sequence=new.sequence,
        route=new.route,
    )


# --- answers -----------------------------------------------------------------------------------


def proposed(patient: Patient, kind: str, slot, tz: str) -> dict:
    from scheduler.api.serialize import instant

    room = db_session.get_one(Room, slot.room_id)
    actors = [
        {
            "actor": {
                "reference": f"Patient/{patient.id}",
                "display": patient.name,
                "identifier": {"system": MRN_SYSTEM, "value": patient.mrn},
            },
            "required": "required",
            "status": "needs-action",
        }
    ]
    if slot.staff_member_id is not None:
        member = db_session.get_one(StaffMember, slot.staff_member_id)
        actors.append(
            {
                "actor": {"reference": f"Practitioner/{member.id}", "display": member.name},
                "required": "required",
                "status": "needs-action",
            }
        )
    actors.append(
        {
            "actor": {"reference": f"Location/{room.id}", "display": room.name},
            "required": "required",
            "status": "needs-action",
        }
    )
    return {
        "resourceType": "Appointment",
        "status": "proposed",
        "serviceType": service_type(kind),
        "start": instant(slot.starts_at, tz),
        "end": instant(slot.ends_at, tz),
        "minutesDuration": int((slot.ends_at - slot.starts_at).total_seconds() // 60),
        "participant": actors,
    }


def _session_answer(row, status: int = 200):
    return fhir_response(
        appointment(row, db_session.get_one(Clinic, row.clinic_id)),
        status,
        headers={"Location": f"{base_url()}/Appointment/{row.id}"},
    )


def _hold_answer(row, status: int = 200):
    return fhir_response(
        hold_appointment(row, db_session.get_one(Clinic, row.clinic_id)),
        status,
        headers={"Location": f"{base_url()}/Appointment/hold-{row.id}"},
    )


# --- the operations ----------------------------------------------------------------------------


@bp.route("/Appointment/$find", methods=["GET", "POST"])
@access.logged
@require("read_schedule")
def find():
    raw = _find_inputs()
    patient = _patient(raw.get("patient"))
    kind = _kind(raw.get("service-type"))
    clinic_id, room_id = _location(raw.get("location"), patient)
    tz = inputs.clinic_row(clinic_id).timezone
    start = _bound(raw.get("start"), "start", tz, end=False) or utcnow()
    end = _bound(raw.get("end"), "end", tz, end=True) or start + timedelta(days=10)
    if not start < end:
        raise UnprocessableError("end must be after start.", field="end")
    if end - start > timedelta(days=MAX_FIND_DAYS):
        raise UnprocessableError(f"The window may span at most {MAX_FIND_DAYS} days.", field="end")
    _, slots = holds.find(patient.id, clinic_id, kind, start, end, room_id=room_id)
    entries = [{"resource": proposed(patient, kind, sl, tz)} for sl in slots]
    access.log_read("fhir_appointments", patient.id)  # the proposals name the patient
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "link": [{"relation": "self", "url": request.url}],
            "entry": [{**e, "search": {"mode": "match"}} for e in entries],
        }
    )


@bp.post("/Appointment/$hold")
@require("book")
@idempotent
def hold():
    req = _request_from(_appointment_param(schemas.HOLD))
    minutes = int(current_app.config.get("FHIR_HOLD_MINUTES", holds.HOLD_MINUTES))
    return _hold_answer(holds.hold(g.user.id, req, minutes=minutes))


@bp.post("/Appointment/$book")
@require("book")
@idempotent
def book():
    resource = _appointment_param(schemas.BOOK)
    ident = resource.get("id")
    if isinstance(ident, str) and ident.startswith("hold-"):
        return _session_answer(holds.book_hold(g.user.id, load_hold(ident)))
    if ident is not None:
        raise ValidationError(
            "appointment: give the held Appointment (id hold-<n>) or a proposed one without an id.",
            field="appointment.id",
        )
    return _session_answer(holds.book_direct(g.user.id, _request_from(resource)))


def _cancel(ident: str, reason: str):
    check_text(reason, "reason")  # kept with the record: no lone surrogate (the schema refuses NUL)
    if ident.startswith("hold-"):
        hold = load_hold(ident)
        if hold.status == "held":
            holds.release(g.user.id, hold, reason)
        elif hold.status == "booked":
            raise UnprocessableError(
                f"Hold {hold.id} was booked as Appointment/{hold.session_id}: cancel that one.", field="appointment"
            )
        return _hold_answer(hold)
    row = load_session(ident)
    if row.status != "cancelled":  # a retry of a cancel answers the cancelled appointment again
        sessions.cancel(g.user.id, row, version=row.version, reason=reason)
    return _session_answer(row)


@bp.post("/Appointment/<ident>/$cancel")
@require("book")
def cancel(ident: str):
    _exists(ident)
    reason = "Cancelled through FHIR"
    if request.data:
        params = _parameters(schemas.CANCEL)
        if "reason" in params:
            reason = _value(params["reason"][0], "reason")
    if not reason.strip() or len(reason) > CANCEL_REASON_MAX:
        raise ValidationError(f"reason must be 1 to {CANCEL_REASON_MAX} characters.", field="reason")
    return _cancel(ident, reason.strip())


@bp.put("/Appointment/<ident>")
@require("book")
def update(ident: str):
    """A status update: only ``cancelled`` (with ``cancelationReason.text``) is accepted."""
    _exists(ident)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
        raise ValidationError("The body must be an Appointment resource.", field="Appointment")
    schemas.check(body, schemas.UPDATE, "Appointment")
    if body.get("id") != ident:
        raise ValidationError(f"The Appointment's id must be {ident!r} (the URL's).", field="Appointment.id")
    current = hold_appointment(load_hold(ident), _clinic_of_hold(ident)) if ident.startswith("hold-") else None
    status_now = current["status"] if current else STATUS[load_session(ident).status]
    wanted = body.get("status")
    if wanted == status_now:
        return _hold_answer(load_hold(ident)) if current else _session_answer(load_session(ident))
    if wanted != "cancelled":
        raise UnprocessableError(
            f"status: only a change to 'cancelled' is supported (it is {status_now!r}); book and "
            "move through $find/$hold/$book or the API.",
            field="Appointment.status",
        )
    if not ident.startswith("hold-"):
        _check_if_match(load_session(ident).version)
    reason = (
        (body.get("cancelationReason") or {}).get("text") if isinstance(body.get("cancelationReason"), dict) else None
    )
    if reason is not None and (not isinstance(reason, str) or len(reason) > CANCEL_REASON_MAX):
        raise ValidationError(
            f"cancelationReason.text must be at most {CANCEL_REASON_MAX} characters.",
            field="Appointment.cancelationReason",
        )
    return _cancel(ident, (reason or "").strip() or "Cancelled through FHIR")


def _exists(ident: str) -> None:
    """An unknown appointment (or one of a clinic outside the user's) is 404 before the body is read."""
    load_hold(ident) if ident.startswith("hold-") else load_session(ident)


def _clinic_of_hold(ident: str) -> Clinic:
    return db_session.get_one(Clinic, load_hold(ident).clinic_id)


def _check_if_match(version: int) -> None:
    """``If-Match: W/"<versionId>"``: a stale version is 409 (nothing is overwritten)."""
    from scheduler.errors import Conflict

    raw = request.headers.get("If-Match")
    if raw is None:
        return
    tag = raw.strip().removeprefix("W/").strip('"')
    if tag != str(version):
        raise Conflict(
            f"The appointment is at version {version}, not {tag}; read it again.", code="stale", field="If-Match"
        )
