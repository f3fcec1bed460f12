"""The induction doses, stage by stage: gaps, windows, weekday and per-week guidance, shifted retries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from scheduler.domain.planning.builder import PlanBuilder, dose_problems, stage_ranges
from scheduler.domain.planning.results import PlanningError, Slot
from scheduler.domain.protocols import DoseSpec, Protocol, Stage
from scheduler.domain.rules.spacing import (
    cadence_ok,
    gap_code,
    latest_day_for,
    stage_opens_on,
    window_origin,
    within_window,
)
from scheduler.domain.rules.windows import guidance_ok
from scheduler.domain.timezones import local_date, local_time


class _Unclean(Exception):
    """A shifted stage attempt broke a rule: abandon it early."""


SHIFT_INVARIANT = {"dosing_hold", "ride_home_missing", "room_unsuitable", "staff_unavailable"}
FIRST_DAY_SHIFT = 7  # how many days the course's first dose may slide to let a stage fit its rules


def plan_induction(
    b: PlanBuilder,
    protocol: Protocol,
    spec: DoseSpec,
    first_lo: date,
    eval_day: date | None,
    not_before: datetime | None,
) -> list[Slot]:
    """Every induction dose, stage by stage. When a stage would break its gaps or window (a weekend
    inside five consecutive days, a closure), its first day is slid forward a few days and the stage
    planned again; the first clean attempt wins, otherwise the unshifted one with its problems."""
    all_slots: list[Slot] = []
    prev_day: date | None = None
    course_first: list[date] = []  # the first dose day, once placed (the origin of anchored windows)
    hints: dict = {}
    seq = 1
    for stage in protocol.induction.stages:
        max_shift = FIRST_DAY_SHIFT if prev_day is None else stage.max_gap_days - stage.min_gap_days
        saved = b.snapshot()
        first_try = None
        for shift in range(max_shift + 1):
            try:
                result = _plan_stage(
                    b,
                    protocol,
                    spec,
                    stage,
                    seq,
                    prev_day,
                    first_lo,
                    eval_day,
                    not_before,
                    hints,
                    shift,
                    course_first[0] if course_first else None,
                )
            except (PlanningError, _Unclean):
                if not shift:
                    raise
                b.restore(saved)
                continue
            new_codes = {code for code, *_ in b.problems[len(saved[1]) :]} - SHIFT_INVARIANT
            if not new_codes:
                break
            if first_try is None:
                first_try = (b.snapshot(), result)
            b.restore(saved)
        else:
            assert first_try is not None  # the unshifted attempt raised, was clean (break) or was kept
            b.restore(first_try[0])
            result = first_try[1]
        slots, prev_day, hints = result
        all_slots.extend(slots)
        if not course_first:
            course_first.append(local_date(slots[0].starts_at, b.finder.tz))
        seq += stage.count
    return all_slots


def _plan_stage(
    b: PlanBuilder,
    protocol: Protocol,
    spec: DoseSpec,
    stage: Stage,
    seq: int,
    prev_day: date | None,
    first_lo: date,
    eval_day: date | None,
    not_before: datetime | None,
    hints: dict,
    shift: int,
    course_first: date | None,
):
    finder = b.finder
    tz = finder.tz
    total = protocol.induction.total_doses
    ev = protocol.evaluation
    stage_first: date | None = None
    stage_days: list[date] = []
    out: list[Slot] = []
    before = {p[0] for p in b.problems}
    step = spec.duration + timedelta(minutes=stage.minutes_between_doses)
    for j in range(stage.days):
        if prev_day is None:
            lo = first_lo
            hi = eval_day + timedelta(days=ev.valid_days) if eval_day and ev else lo + timedelta(days=27)
            hi = min(hi, lo + timedelta(days=27)) if hi >= lo else hi
        else:  # the usual cadence first; a later day (tolerated, or an interruption) when none is free
            lo = prev_day + timedelta(days=stage.min_gap_days)
            hi = prev_day + timedelta(days=stage.max_gap_days)
        opens = stage_opens_on(stage, course_first)
        if opens is not None and lo < opens:
            lo, hi = opens, max(hi, opens)
        remaining = stage.days - j - 1
        if stage_first is not None or opens is not None:
            hi = min(hi, latest_day_for(stage, stage_first, remaining, course_first))
        strict, ext = stage_ranges(lo, hi)
        if j == 0 and shift:  # a shifted attempt starts on exactly that day or not at all
            strict, ext = [lo + timedelta(days=shift)], []
        guided = _guidance(stage, window_origin(stage, stage_first, course_first or lo), stage_days)
        slots = finder.ladder(
            spec,
            strict,
            ext,
            guided=guided,
            count=stage.doses_per_day,
            step=step,
            spacing=stage,
            not_before=not_before if prev_day is None else None,
            **hints,
        )
        day = local_date(slots[0].starts_at, tz)
        ids = b.add(
            "dose",
            spec,
            slots,
            phase="induction",
            sequence=seq,
            label=f"Induction dose {seq} of {total}",
            route=spec.route,
        )
        dose_problems(b, spec, ids)
        if (
            prev_day is None
            and eval_day is not None
            and ev is not None
            and day > eval_day + timedelta(days=ev.valid_days)
        ):
            b.problem(
                "evaluation_expired",
                f"The first dose ({day}) is more than {ev.valid_days} days after the evaluation ({eval_day}).",
                ids,
            )
        if prev_day is not None and gap_code(stage, prev_day, day) == "induction_gap":
            b.problem(
                "induction_gap",
                f"Dose {seq} is {(day - prev_day).days} days after the previous dose; "
                f"the protocol allows at most {stage.tolerated_gap_days}.",
                ids,
            )
        elif prev_day is not None and not cadence_ok(stage, prev_day, day):
            b.problem(
                "protocol_guidance_not_met",
                f"Dose {seq} is {(day - prev_day).days} days after the previous "
                f"dose: longer than the usual {stage.max_gap_days}, within the protocol's tolerance of "
                f"{stage.tolerated_gap_days}.",
                ids,
                "warning",
            )
        if (stage_first is not None or opens is not None) and not within_window(
            stage, stage_first, course_first or day, day
        ):
            b.problem(
                "induction_window_exceeded",
                f"Dose {seq} on {day} is outside its stage's window (the "
                f"protocol allows {stage.window_days} days from "
                f"{window_origin(stage, stage_first, course_first or day)}).",
                ids,
            )
        if stage_first is None:
            stage_first = day
            if "time_hint" not in hints:
                hints = {"time_hint": local_time(slots[0].starts_at, tz)}
        hints = {**hints, "room_hint": slots[0].room_id, "staff_hint": slots[0].staff_member_id}
        if shift and {p[0] for p in b.problems} - SHIFT_INVARIANT - before:
            raise _Unclean  # a shifted attempt is only worth finishing when it breaks nothing
        stage_days.append(day)
        prev_day = day
        out.extend(slots)
        seq += len(slots)
    return out, prev_day, hints


def _guidance(stage: Stage, stage_first: date | None, stage_days: list[date]) -> Callable[[date], bool]:
    """The rule book's weekly cadence guidance for the stage, as a test of one candidate day."""
    return lambda d: guidance_ok(stage, stage_first, stage_days, d)
