"""Re-planning a cancelled or missed session that is not a dose: an integration session, a follow-up
visit, an evaluation or a preparation session.

:func:`replan_other_kind` proposes one replacement inside that session's window, taken from the rule
book (:mod:`scheduler.domain.rules`), and answers in the same shape as re-planning a dose
(:class:`scheduler.domain.replanning.Replan`):

* integration after dose *n*: ``integration_window`` after the dose's end (and before the next dose
  that needs one);
* follow-up visit: ``follow_up_days`` after the last induction dose;
* evaluation: early enough before the first dose (``evaluation_latest_day``) and not older than the
  protocol accepts at it (``valid_days``);
* preparation: ``preparation_days`` between the session before it and the first dose.

Nothing is proposed before ``now``. When the window has passed or no slot is free inside it, ``ok`` is
False and ``reason`` says why (with the code of the rule that cannot be met); a best-effort
replacement after the window is still proposed when one exists. Nothing else moves.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from scheduler.domain.planning import PlanningError, Problem, ProposedSession, SlotFinder, date_range, extended_after
from scheduler.domain.protocols import EvaluationSpec, FollowUpSpec, IntegrationSpec, PreparationSpec, Protocol
from scheduler.domain.rules import (
    doses_needing_integration,
    evaluation_latest_day,
    follow_up_days,
    integration_window,
    preparation_days,
)
from scheduler.domain.timezones import day_start_utc, local_date, local_time, wall_clock
from scheduler.domain.values import Session

# Where there is no first dose to plan before: the evaluation or preparation is looked for this far ahead.
OPEN_WINDOW_DAYS = 13
LABELS = {
    "integration": "integration session",
    "follow_up": "follow-up visit",
    "evaluation": "evaluation",
    "preparation": "preparation session",
}


class _Window:
    """Where a replacement may go: instants ``[lo, hi]`` for its start, and the code of the rule it keeps."""

    def __init__(self, lo: datetime, hi: datetime | None, code: str, words: str):
        self.lo, self.hi, self.code, self.words = lo, hi, code, words


def _order(s: Session):
    return (s.starts_at, s.ends_at, s.id if s.id is not None else -1)


def _induction(live: list[Session]) -> list[Session]:
    return sorted((s for s in live if s.kind == "dose" and s.phase != "maintenance"), key=_order)


def _when(t: datetime, tz: str) -> str:
    return wall_clock(t, tz)


def _integration_window(protocol: Protocol, spec: IntegrationSpec, live: list[Session], missed: Session, tz: str):
    doses = _induction(live)
    needing = doses_needing_integration(spec, doses, protocol.induction.total_doses)
    # the dose it followed: the live induction dose of its sequence number, else the latest one before it
    n = next((k for k in needing if doses[k - 1].sequence == missed.sequence), None)
    if n is None:
        n = max((k for k in needing if doses[k - 1].starts_at <= missed.starts_at), default=None)
    if n is None:
        return (
            f"no live dose before it needs an integration session (dose {missed.sequence or '?'} was cancelled "
            "or missed too: re-plan that dose first)"
        )
    dose = doses[n - 1]
    later = [k for k in needing if k > n]
    lo, hi = integration_window(spec, dose.ends_at, doses[later[0] - 1].starts_at if later else None)
    return _Window(
        lo,
        hi,
        "integration_missing",
        f"within {spec.within_hours} h after dose {dose.sequence or n} ({_when(dose.ends_at, tz)})",
    )


def _follow_up_window(protocol: Protocol, spec: FollowUpSpec, live: list[Session], tz: str):
    doses = _induction(live)
    total = protocol.induction.total_doses
    if len(doses) < total:
        return f"the induction has {len(doses)} of {total} doses: the follow-up is planned after the last one"
    last = doses[total - 1]
    lo, hi = follow_up_days(spec, local_date(last.starts_at, tz))
    return _Window(
        max(day_start_utc(lo, tz), last.ends_at),
        day_start_utc(hi + timedelta(days=1), tz),
        "follow_up_missing",
        f"between {lo} and {hi} (after the last induction dose)",
    )


def _first_dose(live: list[Session]) -> Session | None:
    doses = _induction(live)
    return doses[0] if doses else None


def _evaluation_window(spec: EvaluationSpec, live: list[Session], now: datetime, tz: str):
    first = _first_dose(live)
    if first is None:
        today = local_date(now, tz)
        return _Window(
            now,
            day_start_utc(today + timedelta(days=OPEN_WINDOW_DAYS + 1), tz),
            "dose_before_evaluation",
            "before the first dose (none is booked)",
        )
    first_day = local_date(first.starts_at, tz)
    latest = evaluation_latest_day(spec, first_day)
    earliest = first_day - timedelta(days=spec.valid_days)
    hi = min(day_start_utc(latest + timedelta(days=1), tz), first.starts_at)
    return _Window(
        day_start_utc(earliest, tz),
        hi,
        "dose_before_evaluation",
        f"between {earliest} and {latest} (before the first dose on {_when(first.starts_at, tz)})",
    )


def _preparation_window(spec: PreparationSpec, live: list[Session], missed: Session, now: datetime, tz: str):
    first = _first_dose(live)
    first_day = local_date(first.starts_at, tz) if first is not None else None
    before = [
        s
        for s in live
        if s.kind in ("evaluation", "preparation")
        and s.starts_at < missed.starts_at
        and (s.kind == "evaluation" or (s.sequence or 0) < (missed.sequence or 0))
    ]
    prev = max(before, key=_order) if before else None
    lo_day, hi_day = preparation_days(spec, local_date(prev.starts_at, tz) if prev else None, first_day)
    lo = day_start_utc(lo_day, tz) if lo_day else now
    if prev is not None:
        lo = max(lo, prev.ends_at)
    hi = (
        day_start_utc(hi_day + timedelta(days=1), tz)
        if hi_day
        else day_start_utc(local_date(max(lo, now), tz) + timedelta(days=OPEN_WINDOW_DAYS + 1), tz)
    )
    if first is not None:
        hi = min(hi, first.starts_at)
    # no hard rule names a preparation session: missing its window is the protocol's guidance
    return _Window(lo, hi, "protocol_guidance_not_met", f"between {lo_day or 'now'} and {hi_day or 'the first dose'}")


def replan_other_kind(protocol: Protocol, finder: SlotFinder, course: list[Session], missed: Session, now: datetime):
    """A replacement for the cancelled / no-show ``missed`` session (not a dose) of a course:
    :class:`~scheduler.domain.replanning.Replan` with one new session, or ``ok`` False and why.
    ``finder`` already holds every live session (the course's and the others')."""
    from scheduler.domain.replanning import Reason, Replan, _fail

    spec = protocol.spec_for(missed.kind, missed.phase)
    what = LABELS.get(missed.kind, missed.kind)
    if spec is None:
        return _fail("not_in_protocol", f"{protocol.key} has no {what}")
    tz = finder.tz
    live = [s for s in course if s.live and s.id != missed.id]
    # (spec_for answered, so the protocol has the part of this kind)
    if missed.kind == "integration" and protocol.integration is not None:
        window = _integration_window(protocol, protocol.integration, live, missed, tz)
    elif missed.kind == "follow_up" and protocol.follow_up is not None:
        window = _follow_up_window(protocol, protocol.follow_up, live, tz)
    elif missed.kind == "evaluation" and protocol.evaluation is not None:
        window = _evaluation_window(protocol.evaluation, live, now, tz)
    elif missed.kind == "preparation" and protocol.preparation is not None:
        window = _preparation_window(protocol.preparation, live, missed, now, tz)
    else:
        return _fail("not_in_protocol", f"a {missed.kind} cannot be re-planned")
    if isinstance(window, str):
        return _fail("no_window", f"The {what} cannot be re-planned: {window}.")
    lo = max(window.lo, now)
    strict: list[date] = []
    if window.hi is not None and lo < window.hi:
        strict = date_range(local_date(lo, tz), local_date(window.hi - timedelta(microseconds=1), tz))
    after = local_date(window.hi, tz) if window.hi is not None and window.hi > lo else local_date(lo, tz)
    latest = window.hi - spec.duration if missed.kind != "integration" and window.hi is not None else window.hi
    try:
        got = finder.ladder(
            spec,
            strict,
            [local_date(lo, tz), *extended_after(after)] if not strict else extended_after(strict[-1]),
            not_before=lo,
            latest_start=latest,
            time_hint=local_time(missed.starts_at, tz),
            room_hint=missed.room_id,
            staff_hint=missed.staff_member_id,
        )[0]
    except PlanningError as exc:
        return _fail("no_slot", exc.message)
    label = f"Replacement for the {what}" + (
        f" after dose {missed.sequence}" if missed.kind == "integration" and missed.sequence else ""
    )
    new = ProposedSession(
        missed.kind,
        missed.phase,
        missed.sequence or 1,
        None,
        got.starts_at,
        got.ends_at,
        got.room_id,
        got.staff_member_id,
        label,
    )
    if "window" not in got.relaxed:
        return Replan(ok=True, new_sessions=(new,))
    passed = window.hi is not None and window.hi <= now
    why = (
        f"The {what}'s window ({window.words}) has passed"
        if passed
        else f"No free {spec.capability} room and {spec.role} {window.words}"
    )
    reason = Reason(window.code, f"{why}; the best replacement is on {_when(got.starts_at, tz)}.")
    return Replan(ok=False, new_sessions=(new,), problems=(Problem(reason.code, reason.message, (0,)),), reason=reason)
