"""One course read once (:class:`CourseView`) and every course rule run over it (:func:`course_flags`).

Doses are taken in time order among the LIVE sessions of the course (a cancelled or no-show dose leaves
the gap it leaves). "Dose n" in the rules is the n-th live induction dose; messages show the session's
sequence number when it has one. Day rules count calendar dates in the clinic's zone, hour rules real
elapsed hours (:mod:`scheduler.domain.timezones`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from scheduler.domain.protocols import Protocol, Stage
from scheduler.domain.rules.model import CLOSED_COURSE_STATUSES, CourseFacts, Flag, FlagContext, ids_of
from scheduler.domain.rules.spacing import (
    cross_course_spacing_flags,
    maintenance_spacing_flags,
    spacing_flags,
    spacing_stage,
)
from scheduler.domain.rules.tms import motor_threshold_flags
from scheduler.domain.rules.windows import (
    evaluation_flags,
    follow_up_flags,
    incomplete_flags,
    integration_flags,
    maintenance_due_flags,
)
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Session


def _order(s: Session) -> tuple:
    return (s.starts_at, s.ends_at, s.id if s.id is not None else -1)


def live_doses(sessions: Iterable[Session]) -> list[Session]:
    """A course's live doses in the order the rules number them (start, end, id)."""
    return sorted((s for s in sessions if s.live and s.kind == "dose"), key=_order)


def spacing_stages(sessions: Iterable[Session], protocols: Mapping[int, Protocol]) -> dict[int, Stage]:
    """By session id, the stage each live dose of a course (``protocols``: course id -> the course's
    protocol) is spaced by from the patient's doses elsewhere (:func:`spacing.spacing_stage`; the
    n-th live induction dose of its course, as :class:`CourseView` numbers them). The planner spaces a
    planned dose from a later dose of another course by this, as that course's own rules judge the pair."""
    by_course: dict[int, list[Session]] = {}
    for s in sessions:
        if s.course_id is not None and s.course_id in protocols:
            by_course.setdefault(s.course_id, []).append(s)
    out: dict[int, Stage] = {}
    for course_id, own in by_course.items():
        n = 0
        for d in live_doses(own):
            n += d.phase != "maintenance"
            if d.id is not None:
                out[d.id] = spacing_stage(protocols[course_id], None if d.phase == "maintenance" else n)
    return out


class CourseView:
    """One course's sessions read once: live doses in order, and the words for its messages."""

    def __init__(
        self,
        ctx: FlagContext,
        course: CourseFacts,
        protocol: Protocol,
        sessions: list[Session],
        evaluations: list[Session],
    ):
        self.ctx, self.course, self.p = ctx, course, protocol
        live = [s for s in sessions if s.live]
        doses = live_doses(live)
        self.induction = [s for s in doses if s.phase != "maintenance"]
        # induction doses cancelled or missed (a gap until a replacement is booked)
        self.missed_induction = sorted(
            (s for s in sessions if not s.live and s.kind == "dose" and s.phase != "maintenance"), key=_order
        )
        self.maintenance = [s for s in doses if s.phase == "maintenance"]
        self.doses = doses
        self.live = live
        self.evaluations = sorted((s for s in evaluations if s.live and s.kind == "evaluation"), key=_order)
        self.name = ctx.patient_name(course.patient_id)
        self._days: dict[datetime, date] = {}  # start instant -> its local date (the rules ask often)

    def day(self, s: Session) -> date:
        d = self._days.get(s.starts_at)
        if d is None:
            d = self._days[s.starts_at] = local_date(s.starts_at, self.ctx.tz)
        return d

    def label(self, s: Session, ordinal: int | None = None) -> str:
        return self.ctx.label(s, ordinal)

    def flag(
        self,
        code: str,
        message: str,
        fix: str | None,
        sessions: tuple[Session, ...] = (),
        on: date | None = None,
        anchor: Session | None = None,
    ) -> Flag:
        anchor = anchor or (sessions[-1] if sessions else None)
        return Flag(
            code=code,
            message=message,
            patient_id=self.course.patient_id,
            session_ids=ids_of(*sessions),
            fix=fix,
            course_id=self.course.id,
            starts_at=self.ctx.local(anchor.starts_at) if anchor else None,
            ends_at=self.ctx.local(anchor.ends_at) if anchor else None,
            on=on if on is not None else (self.day(anchor) if anchor else None),
        )


def course_flags(
    ctx: FlagContext,
    course: CourseFacts,
    sessions: list[Session],
    *,
    as_of: datetime | None,
    loose: Sequence[Session] = (),
    elsewhere: Sequence[Session] = (),
) -> list[Flag]:
    """Every rule of the course's protocol over ``sessions`` (the course's sessions, any status).
    ``loose`` are the patient's sessions without a course (an evaluation booked on its own counts);
    ``elsewhere`` the patient's sessions in other courses (doses too close across courses).
    Gaps need ``as_of`` where they depend on today (incomplete induction, maintenance due/overdue)."""
    protocol = ctx.protocols.get(course.protocol_key)
    if protocol is None:
        return []
    # an evaluation is the patient's: one booked in another course (or none) counts too, as the planner counts it
    pool = (
        list(sessions)
        + [s for s in loose if s.course_id is None]
        + [s for s in elsewhere if s.kind == "evaluation" and s.course_id != course.id]
    )
    c = CourseView(ctx, course, protocol, list(sessions), pool)
    out = spacing_flags(c) + evaluation_flags(c) + maintenance_spacing_flags(c)
    out += cross_course_spacing_flags(
        c, [s for s in elsewhere if s.course_id != course.id], [s for s in loose if s.course_id is None]
    )
    if course.status in CLOSED_COURSE_STATUSES:
        return out
    live_pool = [s for s in pool if s.live]
    out += integration_flags(c, [s for s in live_pool if s.kind == "integration"])
    out += follow_up_flags(c, [s for s in live_pool if s.kind == "follow_up"])
    if as_of is not None:
        out += incomplete_flags(c, as_of) + maintenance_due_flags(c, as_of) + motor_threshold_flags(c, as_of)
    return out
