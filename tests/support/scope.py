"""Two clinics for the clinic-scoping tests (test_clinic_scope, test_fhir_scope, test_access_log_routes):
``two_clinics(app)`` builds them and their users, ``callers(world)`` signs each user in (API and FHIR
by bearer token, pages by password), ``route_url(route, clinic)`` fills a route's ids with one
clinic's entities."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.auth import issue_token
from scheduler.db import db_session
from scheduler.models import ApiToken, Course, WaitlistOffer
from scheduler.services import booking, feeds, waitlist
from scheduler.services import sessions as session_service
from tests.support import builders
from tests.support import routes as r

NY = ZoneInfo("America/New_York")
EVERY_DAY = {d: [(time(8), time(18))] for d in range(7)}
MARKER = "Zeta"
DAY = date.today() + timedelta(days=28)  # booking in the past is refused


def _clinic(name: str, tag: str, mrn: str) -> dict:
    clinic = builders.clinic(name=name, hours=EVERY_DAY)
    room = builders.room(clinic, name=f"{tag} Room")
    nurse = builders.staff(clinic, name=f"Nurse {tag}")
    patient = builders.patient(mrn=mrn, name=f"Pat {tag}")
    db_session.flush()
    course = Course(patient_id=patient.id, clinic_id=clinic.id, protocol_key="ketamine-iv", start_on=DAY)
    db_session.add(course)
    db_session.flush()
    starts = datetime.combine(DAY, time(9), tzinfo=NY)
    session = session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=patient.id,
            room_id=room.id,
            staff_member_id=nurse.id,
            kind="dose",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            course_id=course.id,
        ),
        check_flags=False,
    )[0]
    db_session.flush()
    from scheduler.services import directory

    directory.add_closure(
        None, clinic, starts_on=DAY + timedelta(days=30), ends_on=DAY + timedelta(days=30), reason=f"{tag} holiday"
    )
    entry = waitlist.add(
        None,
        patient=patient,
        clinic=clinic,
        kind="dose",
        protocol=None,
        earliest_on=DAY,
        latest_on=DAY + timedelta(days=60),
        preferences={},
    )
    db_session.flush()
    offer = WaitlistOffer(
        entry_id=entry.id,
        clinic_id=clinic.id,
        room_id=room.id,
        staff_member_id=nurse.id,
        starts_at=starts + timedelta(days=1),
        ends_at=starts + timedelta(days=1, hours=2),
    )
    db_session.add(offer)
    db_session.flush()
    return {
        "clinic": clinic.id,
        "room": room.id,
        "staff": nurse.id,
        "patient": patient.id,
        "mrn": mrn,
        "session": session.id,
        "course": course.id,
        "entry": entry.id,
        "offer": offer.id,
    }


def _user(email: str, role: str, clinic_ids: list[int], staff_id: int | None = None):
    user = r.user(email, role, staff_member_id=staff_id)
    user.limit_to_clinics(clinic_ids)
    db_session.flush()
    token = issue_token(user)
    return user.id, token


def two_clinics(app) -> dict:
    """Clinic A and clinic B ("Zeta" everywhere), each with a room, a nurse, a patient with a course,
    a booked dose, a closure, a waitlist entry and an offer, a user and a room feed; a user per role
    limited to A, a network admin (no clinics), a patient with nothing yet ("lone"), committed."""
    a = _clinic("Alpha Clinic", "Alpha", "MRN-A1")
    b = _clinic(f"{MARKER} Clinic", MARKER, "MRN-B1")
    lone = builders.patient(mrn="MRN-NEW", name="Newly Registered")
    db_session.flush()
    users = {}
    for role in r.ROLES:
        users[role] = _user(f"{role}-a@scope.test", role, [a["clinic"]], a["staff"] if role == "clinician" else None)
    users["network"] = _user("network@scope.test", "admin", [])
    b_user, _ = _user("desk-b@scope.test", "front_desk", [b["clinic"]])
    a_user_token = db_session.scalars(select(ApiToken.id).where(ApiToken.user_id == users["front_desk"][0])).first()
    b_user_token = db_session.scalars(select(ApiToken.id).where(ApiToken.user_id == b_user)).first()
    feed_a, token_a = feeds.create(users["front_desk"][0], "room", a["room"])
    feed_b, token_b = feeds.create(b_user, "room", b["room"])
    db_session.commit()
    a.update(user=users["front_desk"][0], token=a_user_token, feed=feed_a.id, feed_token=token_a)
    b.update(user=b_user, token=b_user_token, feed=feed_b.id, feed_token=token_b)
    return {"a": a, "b": b, "lone": lone.id, "users": users, "app": app}


# A route's integer parameter -> the entity of each clinic it names.
INT_PARAMS = {
    "clinic_id": "clinic",
    "room_id": "room",
    "staff_id": "staff",
    "patient_id": "patient",
    "session_id": "session",
    "user_id": "user",
    "token_id": "token",
    "feed_id": "feed",
    "course_id": "course",
    "entry_id": "entry",
    "offer_id": "offer",
    # a payer authorization belongs to the patient in the same URL (checked through it)
    "authorization_id": "session",
}


def free_hour() -> str:
    """The day after DAY, 10:00-11:00 New York: a free hour of each clinic's room (FHIR slot id)."""
    start = datetime.combine(DAY + timedelta(days=1), time(10), tzinfo=NY)
    return f"{int(start.timestamp())}-{int(start.timestamp()) + 3600}"


def _fhir_ident(rule: str, c: dict) -> str:
    kind = rule.split("/")[2]
    return {
        "Appointment": str(c["session"]),
        "CarePlan": str(c["course"]),
        "Location": str(c["room"]),
        "Patient": str(c["patient"]),
        "Practitioner": str(c["staff"]),
        "Schedule": f"room-{c['room']}",
        "Slot": f"room-{c['room']}-{free_hour()}",
    }[kind]


def route_url(route: r.Route, c: dict) -> str | None:
    """``route``'s URL naming clinic ``c``'s entities (None: an id parameter INT_PARAMS cannot fill)."""
    values = {
        "token": c["feed_token"],
        "action": "check_in",
        "ident": _fhir_ident(route.rule, c) if route.area == "fhir" and "<ident>" in route.rule else "x",
    }
    for conv, name in route.params:
        if conv == "int":
            if name not in INT_PARAMS:
                return None
            values[name] = c[INT_PARAMS[name]]
    return route.url(values)


class Caller:
    """The API and FHIR with a bearer token, the pages signed in, as one user."""

    def __init__(self, app, email: str, token: str):
        self.client = app.test_client()
        self.token = token
        self.pages = r.Pages(app, email)

    def call(self, route: r.Route, url: str, **kwargs):
        if route.area == "page":
            return self.pages.open(route.method, url, data={}, **kwargs)
        return self.client.open(
            url,
            method=route.method,
            json={} if route.method != "GET" else None,
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )


def callers(w) -> dict[str, Caller]:
    """A ``Caller`` per role limited to clinic A, and ``network`` (the network admin)."""
    emails = {role: f"{role}-a@scope.test" for role in r.ROLES} | {"network": "network@scope.test"}
    return {who: Caller(w["app"], emails[who], w["users"][who][1]) for who in emails}
