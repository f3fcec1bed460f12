"""REMS: the Spravato (esketamine) safety programme, for every dose that needs it — a dose whose route
is ``nasal`` or whose protocol file says ``rems = true``.

* ``rems_not_enrolled`` (error, never overridable): the clinic has no REMS certification, or the
  patient has no REMS enrollment (or was enrolled only after the dose's date).
* ``prescriber_not_on_site`` (error): no prescriber of the clinic works (weekly hours, no time off,
  active) across the dose's whole ``[start, end)``; no assignment is needed.
* ``bp_checks_too_close`` (warning): one nurse would take two patients' blood-pressure checks (the
  dose block's ``checks``: start, +40 min, discharge = the session's end) less than
  :data:`CHECK_SPACING` apart. The planner staggers esketamine starts so that it never proposes it.
* ``rems_form_due`` (warning) / ``rems_form_overdue`` (error): a REMS dose took place (checked in or
  completed, and ended) and its Patient Monitoring Form is not on file: due on calendar days 1–7
  after the session's local date (holidays count), overdue from day 8.

Predicates: :func:`needs_rems`, :func:`rems_missing`, :func:`prescriber_on_site`,
:func:`check_times`, :func:`checks_clash`, :func:`form_day`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from scheduler.domain.calendar import is_staff_available
from scheduler.domain.intervals import Interval
from scheduler.domain.protocols import Check, Protocol
from scheduler.domain.rules.calendar import session_flag, what
from scheduler.domain.rules.model import Flag, FlagContext, day_label, ids_of
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Clinic, Patient, Session, StaffMember

CHECK_SPACING = timedelta(minutes=10)  # two checks of one nurse at least this far apart
FORM_DUE_DAYS = 7  # the form is due within 7 calendar days of the session (day 8 on: overdue)
TOOK_PLACE = ("checked_in", "completed")
# The worklist and My day chase a missing form for this many days after the dose (older gaps stay
# flagged on the session and the patient's timeline): imported history would otherwise fill them.
FORM_CHASE_DAYS = 90

# ---------------------------------------------------------------- predicates


def needs_rems(protocol: Protocol | None, kind: str, route: str | None) -> bool:
    """A dose by the nasal route, or a dose of a protocol marked ``rems = true``."""
    return kind == "dose" and (route == "nasal" or (protocol is not None and protocol.rems))


def rems_missing(clinic: Clinic, patient: Patient | None, day: date) -> list[str]:
    """What the REMS still lacks for a dose on local date ``day`` (empty: nothing)."""
    out = []
    if not clinic.rems_certification_id:
        out.append(f"{clinic.name or 'the clinic'} has no REMS certification (rems_certification_id)")
    if patient is None or not patient.rems_enrollment_id:
        out.append("the patient is not enrolled in the REMS (rems_enrollment_id)")
    elif patient.rems_enrolled_on is not None and patient.rems_enrolled_on > day:
        out.append(f"the patient's REMS enrollment starts only on {day_label(patient.rems_enrolled_on)}")
    return out


def prescriber_on_site(clinic: Clinic, staff: Iterable[StaffMember], interval: Interval) -> bool:
    """Some active prescriber works (their hours, or the clinic's) across ``interval``, not on time off."""
    return any(m.role == "prescriber" and is_staff_available(m, clinic, interval) for m in staff)


def check_times(checks: Sequence[Check], starts_at: datetime, ends_at: datetime) -> list[datetime]:
    return sorted(c.at(starts_at, ends_at) for c in checks)


def checks_clash(
    a: Sequence[datetime], b: Sequence[datetime], spacing: timedelta = CHECK_SPACING
) -> tuple[datetime, datetime] | None:
    """The first pair of check instants of ``a`` and ``b`` less than ``spacing`` apart, or None."""
    for x in a:
        for y in b:
            if abs(x - y) < spacing:
                return x, y
    return None


def form_day(session_day: date, today: date) -> int:
    """Which calendar day after the session ``today`` is (0: the session's own day)."""
    return (today - session_day).days


def checks_for_route(protocols: Mapping[str, Protocol], route: str | None) -> tuple[Check, ...]:
    """The checks of the first protocol (by key) whose dose block has ``route`` and checks: for a dose
    whose course the caller has not loaded (another patient's, loaded for its nurse only)."""
    for key in sorted(protocols):
        dose = protocols[key].dose
        if dose.route == route and dose.checks:
            return dose.checks
    return ()


def checks_of(ctx: FlagContext, s: Session) -> tuple[Check, ...]:
    if s.kind != "dose":
        return ()
    spec = ctx.spec_of(s)
    if spec is not None:
        return getattr(spec, "checks", ())
    return checks_for_route(ctx.protocols, s.route)


def session_needs_rems(ctx: FlagContext, s: Session) -> bool:
    return needs_rems(ctx.protocol_of(s), s.kind, s.route)


# ---------------------------------------------------------------- flag rules


def rems_enrollment_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """rems_not_enrolled for one live, not completed REMS session (clinic not certified or patient not
    enrolled on its day)."""
    if not session_needs_rems(ctx, s):
        return []
    missing = rems_missing(ctx.clinic, ctx.patients.get(s.patient_id), local_date(s.starts_at, ctx.tz))
    if not missing:
        return []
    return [
        session_flag(
            ctx,
            "rems_not_enrolled",
            s,
            f"{what(ctx, s)[0].upper() + what(ctx, s)[1:]} needs the Spravato REMS, but {'; '.join(missing)}.",
            "Record the clinic's REMS certification and the patient's enrollment first; this cannot be overridden.",
        )
    ]


def prescriber_on_site_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """prescriber_not_on_site for one live, not completed REMS session no prescriber's working time covers."""
    if not session_needs_rems(ctx, s) or prescriber_on_site(ctx.clinic, ctx.staff.values(), s.interval):
        return []
    return [
        session_flag(
            ctx,
            "prescriber_not_on_site",
            s,
            f"No prescriber works at the clinic for the whole of {ctx.span(s.starts_at, s.ends_at)}, the "
            f"administration and monitoring of {ctx.label(s)} for {ctx.patient_name(s.patient_id)} "
            "(REMS: a prescriber on site).",
            "Move the dose into a prescriber's working hours, or change a prescriber's hours or time off.",
        )
    ]


def check_spacing_flags(ctx: FlagContext, live: Iterable[Session], scope: set[int] | None) -> list[Flag]:
    """bp_checks_too_close: one nurse's checks of two patients' doses less than CHECK_SPACING apart."""
    by_nurse: dict[int, list[tuple[Session, list[datetime]]]] = defaultdict(list)
    for s in live:
        if s.staff_member_id is None:
            continue
        checks = checks_of(ctx, s)
        if checks:
            by_nurse[s.staff_member_id].append((s, check_times(checks, s.starts_at, s.ends_at)))
    out: list[Flag] = []
    for staff_id, doses in by_nurse.items():
        doses.sort(key=lambda d: (d[1][0], d[0].id or 0))
        for i, (a, ta) in enumerate(doses):
            for b, tb in doses[i + 1 :]:
                if tb[0] - ta[-1] >= CHECK_SPACING:
                    break
                if a.patient_id == b.patient_id or (scope is not None and a.id not in scope and b.id not in scope):
                    continue
                clash = checks_clash(ta, tb)
                if clash is None:
                    continue
                first, second = sorted(clash)
                out.append(
                    Flag(
                        code="bp_checks_too_close",
                        message=(
                            f"{ctx.staff_name(staff_id)} would take blood-pressure checks of "
                            f"{ctx.patient_name(a.patient_id)} ({ctx.label(a)}) and "
                            f"{ctx.patient_name(b.patient_id)} ({ctx.label(b)}) less than "
                            f"{int(CHECK_SPACING.total_seconds() // 60)} minutes apart, at "
                            f"{ctx.when(first)} and {ctx.local(second):%H:%M}."
                        ),
                        session_ids=tuple(sorted(ids_of(a, b))),
                        fix="Start one of the doses at least 10 minutes earlier or later, or assign another nurse.",
                        staff_member_id=staff_id,
                        starts_at=ctx.local(first),
                        ends_at=ctx.local(second + CHECK_SPACING),
                        on=local_date(first, ctx.tz),
                    )
                )
    return out


def form_flags(ctx: FlagContext, sessions: Iterable[Session], scope: set[int] | None, as_of: datetime) -> list[Flag]:
    """rems_form_due (days 1–7) and rems_form_overdue (day 8 on) for REMS doses that took place and
    have no Patient Monitoring Form on file (only when the caller loaded ``ctx.rems_forms``)."""
    if ctx.rems_forms is None:
        return []
    today = local_date(as_of, ctx.tz)
    out: list[Flag] = []
    for s in sessions:
        if (
            (scope is not None and s.id not in scope)
            or s.status not in TOOK_PLACE
            or s.ends_at > as_of
            or s.id in ctx.rems_forms
            or not session_needs_rems(ctx, s)
        ):
            continue
        day = local_date(s.starts_at, ctx.tz)
        n = form_day(day, today)
        if n < 1:
            continue
        due_on = day + timedelta(days=FORM_DUE_DAYS)
        code = "rems_form_due" if n <= FORM_DUE_DAYS else "rems_form_overdue"
        state = f"is due by {day_label(due_on)}" if n <= FORM_DUE_DAYS else f"was due by {day_label(due_on)}"
        out.append(
            session_flag(
                ctx,
                code,
                s,
                f"The REMS Patient Monitoring Form of {ctx.label(s)} for {ctx.patient_name(s.patient_id)} on "
                f"{day_label(day)} {state} (day {n}).",
                "A clinician records the form on the session's Monitoring form page "
                "(or POST /api/v1/sessions/{id}/rems-form).",
            )
        )
    return out
