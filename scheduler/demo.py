"""Demo data: one realistic clinic whose courses are built with the planner and booked through the
services, so the demo shows real plans, real gaps and real flags.

Runs inside the caller's transaction and is idempotent (nothing happens when the demo clinic exists;
the demo users are created when missing). Dates are relative to ``today`` (the clinic's local date):
sessions that ended before now are marked completed, the rest are booked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import TH, relativedelta
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.timezones import to_utc, zone
from scheduler.domain.values import Preferences
from scheduler.models import Clinic, User, utcnow

DEMO_CLINIC = "Riverside Interventional Psychiatry"
TZ = "America/New_York"
DEMO_PASSWORD = "demo-password"
DEMO_USERS = (
    ("admin@demo.clinic", "admin"),
    ("frontdesk@demo.clinic", "front_desk"),
    ("clinician@demo.clinic", "clinician"),
)
WEEKDAY = [(time(8), time(18))]
ROOMS = (
    ("Infusion 1", ["iv"]),
    ("Infusion 2", ["iv"]),
    ("Procedure", ["im", "iv", "nasal"]),
    ("Therapy", ["therapy", "consult"]),
    ("TMS Suite", ["tms"]),
)
STAFF = (
    ("Dr. Maya Chen", "prescriber", 1),
    ("Dr. Samuel Okafor", "prescriber", 1),
    ("Nurse Priya Patel", "nurse", 2),
    ("Nurse Daniel Brooks", "nurse", 1),
    ("Nurse Elena Ruiz", "nurse", 1),
    ("Jordan Lee, LCSW", "therapist", 1),
    ("Dr. Hannah Weiss, PsyD", "therapist", 1),
)
FIRST = [
    "Ana",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Iris",
    "Jamal",
    "Kate",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Victor",
    "Wen",
    "Xavier",
    "Yara",
    "Zane",
    "Amir",
    "Bianca",
    "Caleb",
    "Dana",
    "Eli",
    "Fatima",
    "Gabe",
    "Hana",
]
LAST = [
    "Ruiz",
    "Cohen",
    "Nguyen",
    "Okoro",
    "Smith",
    "Schmidt",
    "Kim",
    "Rossi",
    "Haddad",
    "Jones",
    "Novak",
    "Silva",
    "Walsh",
    "Tanaka",
    "Moreau",
    "Santos",
    "Berg",
    "Costa",
    "Price",
    "Adler",
    "Reyes",
    "Lund",
    "Khan",
    "Dubois",
    "Ito",
    "Meyer",
    "Farah",
    "Greco",
    "Hale",
    "Ibarra",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Mendes",
]


@dataclass(frozen=True)
class Story:
    """One demo patient: protocol, course start relative to today, and what happened."""

    protocol: str
    start: int  # course start, days from today
    stage: str
    maintenance: bool = True  # plan the first maintenance dose too
    ride: bool = True
    hold: str | None = None  # dosing hold reason
    missed: int = 0  # the last ``missed`` doses before the next booked one were no-shows
    instrument: str = "PHQ-9"
    prefs: tuple = ()  # weekday names


STORIES = [
    Story("ketamine-iv", -1, "just evaluated"),
    Story("ketamine-iv", 1, "just evaluated", prefs=("mon", "wed", "fri")),
    Story("ketamine-iv", 3, "evaluation booked", instrument="Y-BOCS"),
    Story("ketamine-iv", -4, "mid-induction"),
    Story("ketamine-iv", -6, "mid-induction", instrument="Y-BOCS"),
    Story("ketamine-iv", -8, "mid-induction", prefs=("tue", "thu")),
    Story("ketamine-iv", -10, "mid-induction"),
    Story("ketamine-iv", -12, "mid-induction"),
    Story("ketamine-iv", -5, "mid-induction", instrument="Y-BOCS"),
    Story("ketamine-iv", -22, "awaiting follow-up"),
    Story("ketamine-iv", -25, "awaiting follow-up"),
    Story("ketamine-iv", -27, "awaiting follow-up", instrument="Y-BOCS"),
    Story("ketamine-iv", -105, "in maintenance"),
    Story("ketamine-iv", -120, "in maintenance"),
    Story("ketamine-iv", -140, "in maintenance", instrument="Y-BOCS"),
    Story("ketamine-iv", -170, "in maintenance"),
    Story("ketamine-iv", -95, "maintenance due", maintenance=False),
    Story("ketamine-iv", -260, "maintenance overdue", maintenance=False),
    Story("ketamine-iv", -16, "missed two doses", missed=2, prefs=("mon", "fri")),
    Story("ketamine-iv", -6, "dosing hold", hold="Hypomanic symptoms at the last visit; prescriber review first"),
    Story("ketamine-iv", -2, "no ride home", ride=False),
    Story("ketamine-iv", 6, "starting soon"),
    Story("ketamine-iv", 9, "starting soon", prefs=("mon", "thu")),
    Story("ketamine-iv", -16, "mid-induction"),
    Story("ketamine-iv", -19, "late induction", instrument="Y-BOCS"),
    Story("ketamine-iv", 13, "starting soon"),
    Story("ketamine-im", -7, "mid-induction"),
    Story("ketamine-iv", -30, "follow-up done", instrument="Y-BOCS"),
    Story("esketamine-trd", -20, "esketamine twice weekly"),
    Story("esketamine-trd", -3, "esketamine starting"),
    Story("tms-daily", -15, "TMS week 3"),
    Story("tms-daily", -1, "TMS starting"),
    Story("tms-accelerated", 8, "accelerated TMS booked"),
]


def _next_holiday(today: date) -> tuple[date, str]:
    """The next US holiday (fixed dates, plus Thanksgiving) at least two days away."""
    found = []
    for year in (today.year, today.year + 1):
        found += [
            (date(year, 1, 1), "New Year's Day"),
            (date(year, 7, 4), "Independence Day"),
            (date(year, 12, 25), "Christmas Day"),
            (date(year, 11, 1) + relativedelta(weekday=TH(4)), "Thanksgiving"),
        ]
    return min((d, n) for d, n in found if d >= today + timedelta(days=2))


def _users() -> int:
    from scheduler.auth import hash_password
    from scheduler.services import audit

    made = 0
    password_hash = None  # argon2 is slow on purpose: one (salted) hash serves the three demo users
    for email, role in DEMO_USERS:
        if db_session.scalar(select(User.id).where(User.email == email)) is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            user = User(email=email, role=role, password_hash=password_hash)
            db_session.add(user)
            audit.record(None, "user.create", user)
            made += 1
    return made


def load_demo(today: date | None = None) -> str:
    made_users = _users()
    if db_session.scalar(select(Clinic).where(Clinic.name == DEMO_CLINIC)) is not None:
        return f"Demo clinic already loaded{f'; added {made_users} demo users' if made_users else ''}."
    from scheduler.services import directory

    now = utcnow()
    real_today = datetime.now(zone(TZ)).date()
    today = today or real_today
    if today != real_today:  # a demo built around another day: "now" is that day at noon
        now = to_utc(today, time(12), TZ)
    clinic = directory.create_clinic(
        None,
        name=DEMO_CLINIC,
        timezone=TZ,
        hours=dict.fromkeys(range(5), WEEKDAY) | {5: [(time(9), time(13))]},
        settings={"rems_certification_id": "SPR-HCS-DEMO-01"},
    )
    holiday, name = _next_holiday(today)
    directory.add_closure(None, clinic, starts_on=holiday, ends_on=holiday, reason=name)
    for room_name, caps in ROOMS:
        directory.create_room(None, clinic, name=room_name, capabilities=caps)
    for staff_name, role, capacity in STAFF:
        directory.create_staff_member(None, clinic, name=staff_name, role=role, capacity=capacity)
    db_session.flush()

    rng = random.Random(20260302)
    booked = 0
    for i, story in enumerate(STORIES):
        booked += _patient_story(clinic.id, i, story, today, now, rng)
    return (
        f"Loaded demo clinic {clinic.id} ({DEMO_CLINIC}): {len(STORIES)} patients, {booked} sessions; "
        f"{len(DEMO_USERS)} users with password '{DEMO_PASSWORD}'."
    )


def _patient_story(clinic_id: int, i: int, story: Story, today: date, now: datetime, rng: random.Random) -> int:
    from scheduler.services import clinical, courses, directory, sessions

    patient = directory.create_patient(
        None,
        mrn=f"DEMO-{i + 1:04d}",
        name=f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}",
        birth_date=date(1960 + rng.randrange(40), rng.randrange(1, 13), rng.randrange(1, 29)),
        phone=f"+1-555-01{i:02d}",
        email=f"patient{i + 1}@example.org",
        ride_home_arranged=story.ride,
    )
    if story.protocol == "esketamine-trd":  # enrolled in the Spravato REMS a month before the course
        patient.rems_enrollment_id = f"SPR-PT-DEMO-{i + 1:04d}"
        patient.rems_enrolled_on = today + timedelta(days=story.start - 30)
    db_session.flush()
    prefs = Preferences(weekdays=frozenset(story.prefs) if story.prefs else None)
    result = courses.plan_and_book(
        None,
        patient.id,
        clinic_id,
        story.protocol,
        today + timedelta(days=story.start),
        prefs,
        dry_run=False,
        include_maintenance=story.maintenance,
        override_reason="Demo data: plan booked as proposed",
        past_status="booked" if story.missed else "completed",
        now=now,
    )
    course = result.course
    assert course is not None  # booked, not a dry run
    rows = sorted(result.sessions, key=lambda s: s.starts_at)
    if story.missed:  # the patient missed the last ``missed`` induction doses (and their integrations)
        past_doses = [s for s in rows if s.kind == "dose" and s.ends_at <= now]
        missed = {s.sequence for s in past_doses[-story.missed :]} if len(past_doses) > story.missed else set()
        for s in rows:
            if s.ends_at <= now:
                action = "no_show" if s.kind in ("dose", "integration") and s.sequence in missed else "complete"
                sessions.transition(None, s, action, version=s.version, now=now)
    if story.hold:
        clinical.place_dosing_hold(None, patient, reason=story.hold)
    courses.advance(None, course.id)
    _assessments(patient, course, rows, story, now, rng)
    return len(rows)


def _assessments(patient, course, rows, story: Story, now: datetime, rng: random.Random) -> None:
    """A baseline score at the evaluation, then one after every second completed dose, improving."""
    from scheduler.domain.vocabulary import INSTRUMENTS
    from scheduler.services import clinical

    done = [s for s in rows if s.status == "completed" and s.kind in ("evaluation", "dose")]
    if not done:
        return
    high = INSTRUMENTS[story.instrument][1]
    score = int(high * rng.uniform(0.6, 0.8))
    for k, s in enumerate(done):
        if k % 2:
            continue
        taken_on = s.starts_at.astimezone(zone(TZ)).date()
        clinical.record_assessment(
            None, patient, instrument=story.instrument, score=max(0, score), taken_on=taken_on, course_id=course.id
        )
        score -= rng.randrange(1, max(2, high // 10))
