"""The rule-book tests' clean ketamine-iv course as plain domain values (America/New_York, open Mon-Fri
08:00-18:00, March 2026 across the spring-forward weekend): ``build()`` makes the ``Scenario``
(sessions, rooms, staff, patients, the FlagContext), ``session``/``ben``/``at``/``march`` make more, and
the ``with_*`` edits break one thing each (tests/unit/test_flags.py and the flag tests beside it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from scheduler.domain.flags import CourseFacts, Flag, FlagContext, patient_flags
from scheduler.domain.intervals import Interval
from scheduler.domain.protocols import load_protocols
from scheduler.domain.timezones import to_utc
from scheduler.domain.values import Authorization, Clinic, Closure, Patient, Room, Session, StaffMember, by_id

TZ = "America/New_York"
PROTOCOLS = load_protocols()
HOURS = {d: [(time(8), time(18))] for d in range(5)}
IV_ROOM, THERAPY_ROOM, IV_ROOM_2 = 1, 2, 3
NURSE, THERAPIST, PRESCRIBER, NURSE_2 = 10, 11, 12, 13
ANA, BEN = 1, 2
COURSE = 100
BASE_DOSE_DAYS = (4, 6, 9, 11, 13, 16)  # March 2026: gaps 2,3,2,2,3 days; 12 days from first to last


def at(d: date | int, h: int, m: int = 0) -> datetime:
    """UTC instant of a local wall-clock time; an int day means that day of March 2026."""
    d = date(2026, 3, d) if isinstance(d, int) else d
    return to_utc(d, time(h, m), TZ)


def march(day: int) -> date:
    return date(2026, 3, day)


def session(
    id,
    d,
    h,
    minutes,
    room,
    *,
    kind="dose",
    patient=ANA,
    course=COURSE,
    staff=None,
    status="booked",
    phase=None,
    seq=None,
    m=0,
    route=None,
):
    start = at(d, h, m)
    if kind == "dose" and phase is None:
        phase = "induction"
    if kind == "dose" and route is None:
        route = "iv"
    return Session(
        id=id,
        patient_id=patient,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        room_id=room,
        kind=kind,
        status=status,
        clinic_id=1,
        course_id=course,
        phase=phase,
        sequence=seq,
        route=route,
        staff_member_id=staff,
    )


@dataclass
class Scenario:
    sessions: list[Session]
    closures: tuple[Closure, ...] = ()
    staff: dict[int, StaffMember] = field(
        default_factory=lambda: {
            NURSE: StaffMember(NURSE, "Nurse Kim", "nurse"),
            NURSE_2: StaffMember(NURSE_2, "Nurse Lee", "nurse"),
            THERAPIST: StaffMember(THERAPIST, "Dr Tran", "therapist"),
            PRESCRIBER: StaffMember(PRESCRIBER, "Dr Osei", "prescriber"),
        }
    )
    rooms: dict[int, Room] = field(
        default_factory=lambda: {
            IV_ROOM: Room(IV_ROOM, "Chair 1", ("iv",)),
            THERAPY_ROOM: Room(THERAPY_ROOM, "Therapy A", ("therapy", "consult")),
            IV_ROOM_2: Room(IV_ROOM_2, "Chair 2", ("iv", "im")),
        }
    )
    patients: dict[int, Patient] = field(
        default_factory=lambda: {
            ANA: Patient(ANA, "MRN1", "Ana Ruiz", ride_home_arranged=True),
            BEN: Patient(BEN, "MRN2", "Ben Li", ride_home_arranged=True),
        }
    )
    as_of: datetime = field(default_factory=lambda: at(2, 7))
    hours: dict = field(default_factory=lambda: HOURS)
    protocol_key: str = "ketamine-iv"
    course_status: str = "active"
    rems_certification_id: str | None = "SPR-CLINIC-1"
    rems_forms: frozenset[int] | None = frozenset()
    motor_thresholds: dict[int, tuple[date, ...]] | None = None

    def ctx(self) -> FlagContext:
        clinic = Clinic(
            id=1,
            timezone=TZ,
            hours=self.hours,
            closures=self.closures,
            name="Midtown",
            rems_certification_id=self.rems_certification_id,
        )
        return FlagContext(
            clinic=clinic,
            protocols=PROTOCOLS,
            rooms=self.rooms,
            staff=self.staff,
            patients=self.patients,
            courses=by_id([CourseFacts(COURSE, ANA, self.protocol_key, status=self.course_status)]),
            rems_forms=self.rems_forms,
            motor_thresholds=self.motor_thresholds,
        )

    def flags(self, patient: int = ANA) -> list[Flag]:
        mine = [s for s in self.sessions if s.patient_id == patient]
        others = [s for s in self.sessions if s.patient_id != patient]
        return patient_flags(self.ctx(), patient, mine, as_of=self.as_of, others=others)

    def codes(self, patient: int = ANA) -> set[str]:
        return {f.code for f in self.flags(patient)}

    # ---- edits

    def sid(self, sid: int) -> Session:
        return next(s for s in self.sessions if s.id == sid)

    def edit(self, sid: int, **changes) -> Scenario:
        self.sessions = [replace(s, **changes) if s.id == sid else s for s in self.sessions]
        return self

    def move(self, sid: int, d, h: int, m: int = 0) -> Scenario:
        s = self.sid(sid)
        start = at(d, h, m)
        return self.edit(sid, starts_at=start, ends_at=start + (s.ends_at - s.starts_at))

    def drop(self, sid: int) -> Scenario:
        self.sessions = [s for s in self.sessions if s.id != sid]
        return self

    def add(self, *sessions: Session) -> Scenario:
        self.sessions.extend(sessions)
        return self


def build(dose_days=BASE_DOSE_DAYS, *, evaluation_day: date | int = 2, follow_up_after: int | None = 7) -> Scenario:
    """Evaluation (id 1), doses 09:00-11:00 in Chair 1 (ids 11..16), integration 13:00-14:00 the same
    day (ids 21..26), follow-up 10:00-10:30 ``follow_up_after`` days after the last dose (id 31)."""
    sessions = [session(1, evaluation_day, 10, 60, THERAPY_ROOM, kind="evaluation", staff=PRESCRIBER)]
    for n, d in enumerate(dose_days, start=1):
        sessions.append(session(10 + n, d, 9, 120, IV_ROOM, staff=NURSE, seq=n))
        sessions.append(session(20 + n, d, 13, 60, THERAPY_ROOM, kind="integration", staff=THERAPIST))
    if follow_up_after is not None:
        last = march(dose_days[-1]) + timedelta(days=follow_up_after)
        sessions.append(session(31, last, 10, 30, THERAPY_ROOM, kind="follow_up", staff=PRESCRIBER))
    return Scenario(sessions=sessions)


def ben(id, d, h, minutes=120, room=IV_ROOM_2, staff=NURSE_2, m=0, **kw):
    return session(id, d, h, minutes, room, patient=BEN, course=None, staff=staff, m=m, **kw)


def with_ride(sc: Scenario, arranged: bool) -> Scenario:
    sc.patients[ANA] = replace(sc.patients[ANA], ride_home_arranged=arranged)
    return sc


def with_auth(
    sc: Scenario, units: int, valid_from: date = date(2026, 3, 1), valid_to: date = date(2026, 6, 30)
) -> Scenario:
    """Ana's ketamine-iv doses authorized by a payer: ``units`` between the dates (her doses inside
    them counted, as the service counts them)."""
    counted = tuple(
        (x.id, x.starts_at)
        for x in sorted(sc.sessions, key=lambda x: x.starts_at)
        if x.patient_id == ANA
        and x.kind == "dose"
        and x.course_id == COURSE
        and valid_from <= x.starts_at.date() <= valid_to
    )
    auth = Authorization(1, "ketamine-iv", "Acme Health", "PA-7", units, valid_from, valid_to, counted)
    sc.patients[ANA] = replace(sc.patients[ANA], authorizations=(auth,))
    return sc


def nasal(sc: Scenario, *, enrolled: bool = True, sid: int = 11, status: str = "booked") -> Scenario:
    """Ana's dose ``sid`` by the nasal route (so the Spravato REMS applies), Ana enrolled or not."""
    sc.edit(sid, route="nasal", status=status)
    if enrolled:
        sc.patients[ANA] = replace(sc.patients[ANA], rems_enrollment_id="SPR-PT-1", rems_enrolled_on=date(2026, 2, 1))
    return sc


def two_nasal_doses(ben_minute: int) -> Scenario:
    """Ana's and Ben's loose esketamine doses on Wed 18 Mar, both with Nurse Kim (capacity 2): Ana at
    09:00, Ben at 09:``ben_minute`` — their checks (start, +40 min, discharge) as the REMS protocol times them."""
    sc = build()
    sc.staff[NURSE] = replace(sc.staff[NURSE], capacity=2)
    for rid in (IV_ROOM, IV_ROOM_2):
        sc.rooms[rid] = replace(sc.rooms[rid], capabilities=(*sc.rooms[rid].capabilities, "nasal"))
    for pid in (ANA, BEN):
        sc.patients[pid] = replace(sc.patients[pid], rems_enrollment_id=f"SPR-PT-{pid}")
    return sc.add(
        session(80, 18, 9, 135, IV_ROOM, course=None, staff=NURSE, route="nasal"),
        ben(81, 18, 9, 135, staff=NURSE, m=ben_minute, route="nasal"),
    )


def with_hold(sc: Scenario, reason: str | None) -> Scenario:
    sc.patients[ANA] = replace(sc.patients[ANA], dosing_hold_reason=reason)
    return sc


def with_time_off(sc: Scenario, start: datetime, end: datetime) -> Scenario:
    sc.staff[NURSE] = replace(sc.staff[NURSE], time_off=(Interval(start, end),))
    return sc


def with_prescriber_off(sc: Scenario, start: datetime, end: datetime) -> Scenario:
    sc.staff[PRESCRIBER] = replace(sc.staff[PRESCRIBER], time_off=(Interval(start, end),))
    return sc


def with_form(sc: Scenario, *session_ids: int) -> Scenario:
    sc.rems_forms = frozenset(session_ids)
    return sc


def tms_course(*measured: date) -> Scenario:
    """The course as a tms-daily course running on Mon 9 Mar (doses on 4 and 6 Mar past, 9 Mar on),
    with Ana's motor thresholds measured on ``measured``."""
    sc = as_of(build(), march(9), 8)
    sc.protocol_key = "tms-daily"
    sc.motor_thresholds = {ANA: measured}
    return sc


def with_closure(sc: Scenario, closure: Closure) -> Scenario:
    sc.closures = (closure,)
    return sc


def as_of(sc: Scenario, d: date, h: int = 12) -> Scenario:
    sc.as_of = to_utc(d, time(h), TZ)
    return sc


def maintenance_dose(d: date, sid: int = 41) -> Session:
    return session(sid, d, 9, 120, IV_ROOM, staff=NURSE, phase="maintenance", seq=1)
