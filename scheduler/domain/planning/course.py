"""A whole course (evaluation, preparation, induction, integration, follow-up, maintenance) and a
single maintenance dose."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from scheduler.domain.maintenance import dates_nearest_target, due_window
from scheduler.domain.planning.builder import PlanBuilder, dose_problems, stage_ranges
from scheduler.domain.planning.exact import ExactPlanner
from scheduler.domain.planning.induction import plan_induction
from scheduler.domain.planning.results import Plan, PlanningError, Slot
from scheduler.domain.planning.slots import SlotFinder, extended_after
from scheduler.domain.protocols import MaintenanceSpec, Protocol, Stage
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Clinic, Patient, Preferences, Room, Session, StaffMember


def stagger(finder: SlotFinder, protocol: Protocol) -> None:
    """The live doses by the protocol's routes hold their nurses' checks (as the protocol times them)."""
    finder.use_checks(protocol.dose.route, protocol.dose.checks)
    if protocol.maintenance is not None and protocol.maintenance.dose is not protocol.dose:
        finder.use_checks(protocol.maintenance.dose.route, protocol.maintenance.dose.checks)


def planning_start(start_on: date, now: datetime | None, tz: str) -> date:
    """The first local date a plan may use: ``start_on``, or today when that has passed."""
    if now is None:
        return start_on
    return max(start_on, local_date(now, tz))


def plan_course(
    protocol: Protocol,
    clinic: Clinic,
    rooms: Sequence[Room],
    staff: Sequence[StaffMember],
    patient: Patient,
    existing_sessions: Iterable[Session],
    start_on: date,
    preferences: Preferences | None = None,
    has_valid_evaluation_on: date | None = None,
    *,
    include_maintenance: bool = True,
    grid_minutes: int = 15,
    now: datetime | None = None,
    dose_stages: Mapping[int, Stage] | None = None,
) -> Plan:
    """Propose every session of a course starting on local date ``start_on``.

    ``now``, when given: nothing is proposed before it; a ``start_on`` before today (the clinic's
    date at ``now``) plans from today and adds the problem ``start_moved_to_today``. Without it the
    plan may lie in the past (entering history).

    ``existing_sessions``: the live (and other) sessions of the clinic's rooms and staff and of the
    patient anywhere in the period; the plan overlaps none of the live ones. ``has_valid_evaluation_on``:
    date of the patient's last evaluation, if any; a new one is proposed when it cannot cover the first
    dose. ``dose_stages``: the stage of each of the patient's doses in other courses, by session id
    (``rules.course.spacing_stages``; see :class:`SlotFinder`). Raises :class:`PlanningError` when a
    session cannot be proposed at all.
    """
    finder = SlotFinder(
        clinic,
        rooms,
        staff,
        patient,
        existing_sessions,
        preferences,
        grid_minutes,
        not_before=now,
        dose_stages=dose_stages,
    )
    stagger(finder, protocol)
    tz = clinic.timezone
    asked_on, start_on = start_on, planning_start(start_on, now, tz)
    b = PlanBuilder(protocol, finder)
    dose_slots = (
        _plan_exact(b, protocol, start_on, has_valid_evaluation_on, now) if _exact_applies(protocol, finder) else None
    )
    if dose_slots is None:
        b = PlanBuilder(protocol, finder)
        dose_slots = _plan_least_bad(b, protocol, start_on, has_valid_evaluation_on)
    if start_on != asked_on:
        b.problem(
            "start_moved_to_today",
            f"The start date {asked_on.isoformat()} is in the past; the course is "
            f"planned from today, {start_on.isoformat()}.",
            (),
            "warning",
        )
    last = dose_slots[-1]
    last_day = local_date(last.starts_at, tz)
    fu = protocol.follow_up
    if fu is not None:
        strict, ext = stage_ranges(
            last_day + timedelta(days=fu.min_days_after), last_day + timedelta(days=fu.max_days_after)
        )
        slots = finder.ladder(fu, strict, ext, not_before=last.ends_at)
        ids = b.add("follow_up", fu, slots, sequence=1, label="Follow-up visit")
        if "window" in slots[0].relaxed:
            b.problem(
                "follow_up_missing",
                f"No follow-up visit could be placed {fu.min_days_after}-"
                f"{fu.max_days_after} days after the last induction dose; proposed later.",
                ids,
            )

    if include_maintenance and protocol.maintenance is not None:
        _plan_maintenance(b, protocol, protocol.maintenance, last_day, 1, last.ends_at)
    return b.build()


def _exact_applies(protocol: Protocol, finder: SlotFinder) -> bool:
    """The exact search needs a suitable room and a clinician for every kind it places; without them
    no plan can meet the rules and the least-bad planner says which are missing."""
    specs = [s for s in (protocol.evaluation, protocol.preparation, protocol.dose, protocol.integration) if s]
    return all(finder.has_room_for(s.capability) and finder.has_staff_for(s.role) for s in specs)


def _plan_exact(
    b: PlanBuilder, protocol: Protocol, start_on: date, has_valid_evaluation_on: date | None, now: datetime | None
):
    """Evaluation, preparation, induction and integration by :mod:`.exact`; None when no plan in the
    horizon meets every hard rule."""
    finder = b.finder
    placed = ExactPlanner(protocol, finder, start_on, start_on, has_valid_evaluation_on, now).search()
    if placed is None:
        return None
    total = protocol.induction.total_doses
    dose_slots: list[Slot] = []
    for pl in placed:
        relaxed = set()
        if pl.outside_preferences:
            relaxed.add("preferences")
        if pl.breaks_guidance:
            relaxed.add("guidance")
        slots = [Slot(s.starts_at, s.ends_at, s.room_id, s.staff_member_id, frozenset(relaxed)) for s in pl.slots]
        for s in slots:
            finder.reserve(s.starts_at, s.ends_at, s.room_id, s.staff_member_id)
        if pl.kind == "evaluation":
            b.add("evaluation", pl.spec, slots, sequence=1, label="Evaluation")
        elif pl.kind == "preparation":
            assert protocol.preparation is not None  # the exact search placed one
            b.add(
                "preparation",
                pl.spec,
                slots,
                sequence=pl.sequence,
                label=f"Preparation {pl.sequence} of {protocol.preparation.planned_count}",
            )
        elif pl.kind == "integration":
            b.add("integration", pl.spec, slots, sequence=pl.sequence, label=f"Integration after dose {pl.sequence}")
        else:  # a dose: the exact search places the protocol's dose block
            ids = b.add(
                "dose",
                protocol.dose,
                slots,
                phase="induction",
                sequence=pl.sequence,
                label=f"Induction dose {pl.sequence} of {total}",
                route=protocol.dose.route,
            )
            dose_problems(b, protocol.dose, ids)
            dose_slots.extend(slots)
    return dose_slots


def _plan_least_bad(b: PlanBuilder, protocol: Protocol, start_on: date, has_valid_evaluation_on: date | None):
    """When no plan meets every hard rule: stage by stage, each session where it breaks the fewest rules,
    every broken rule reported with its flag code."""
    finder = b.finder
    tz = finder.tz
    prev_day: date | None = None
    prev_end: datetime | None = None

    # evaluation
    eval_day = None
    ev = protocol.evaluation
    if ev is not None:
        if has_valid_evaluation_on is not None and start_on <= has_valid_evaluation_on + timedelta(days=ev.valid_days):
            eval_day = has_valid_evaluation_on
        else:
            strict, ext = stage_ranges(start_on, start_on + timedelta(days=13))
            slots = finder.ladder(ev, strict, ext)
            b.add("evaluation", ev, slots, sequence=1, label="Evaluation")
            eval_day, prev_end = local_date(slots[0].starts_at, tz), slots[0].ends_at
        prev_day = eval_day

    # preparation
    prep = protocol.preparation
    if prep is not None:
        for i in range(1, prep.planned_count + 1):
            lo = max(start_on, prev_day + timedelta(days=prep.min_gap_days)) if prev_day else start_on
            strict, ext = stage_ranges(lo, lo + timedelta(days=13))
            slots = finder.ladder(prep, strict, ext, not_before=prev_end)
            b.add("preparation", prep, slots, sequence=i, label=f"Preparation {i} of {prep.planned_count}")
            prev_day, prev_end = local_date(slots[0].starts_at, tz), slots[0].ends_at

    # induction doses
    first_lo = start_on
    if ev is not None and eval_day is not None:
        first_lo = max(first_lo, eval_day + timedelta(days=ev.min_days_before_first_dose))
    if prep is not None and prep.planned_count and prev_day is not None:
        first_lo = max(first_lo, prev_day + timedelta(days=prep.min_gap_days))
    dose_slots = plan_induction(b, protocol, protocol.dose, first_lo, eval_day, prev_end)

    # integration
    integ = protocol.integration
    if integ is not None:
        needing = [(seq, slot) for seq, slot in enumerate(dose_slots, start=1) if integ.applies_to(seq)]
        for k, (seq, slot) in enumerate(needing):
            nb = slot.ends_at + timedelta(hours=integ.min_hours_after)
            latest = slot.ends_at + timedelta(hours=integ.within_hours)
            if k + 1 < len(needing):  # after the next dose that needs one, it would count for that dose
                latest = min(latest, needing[k + 1][1].starts_at)
            strict, ext = stage_ranges(local_date(nb, tz), local_date(latest, tz))
            slots = finder.ladder(integ, strict, ext, not_before=nb, latest_start=latest)
            ids = b.add("integration", integ, slots, sequence=seq, label=f"Integration after dose {seq}")
            if "window" in slots[0].relaxed:
                b.problem(
                    "integration_missing",
                    f"No integration session could be placed within "
                    f"{integ.within_hours} h after dose {seq}; proposed later.",
                    ids,
                )

    return dose_slots


def _plan_maintenance(
    b: PlanBuilder,
    protocol: Protocol,
    rule: MaintenanceSpec,
    last_dose_on: date,
    sequence: int,
    not_before: datetime | None,
) -> list[Slot]:
    window = due_window(last_dose_on, rule)
    ext = extended_after(window.latest)
    slots = b.finder.ladder(
        rule.dose, dates_nearest_target(window), ext, not_before=not_before, spacing=protocol.induction.stages[-1]
    )
    ids = b.add(
        "dose",
        rule.dose,
        slots,
        phase="maintenance",
        sequence=sequence,
        label=f"Maintenance dose {sequence}",
        route=rule.dose.route,
    )
    dose_problems(b, rule.dose, ids)
    if "window" in slots[0].relaxed:
        b.problem(
            "maintenance_overdue", f"No maintenance dose could be placed by {window.latest}; proposed later.", ids
        )
    return slots


def plan_maintenance_dose(
    protocol: Protocol,
    clinic: Clinic,
    rooms: Sequence[Room],
    staff: Sequence[StaffMember],
    patient: Patient,
    existing_sessions: Iterable[Session],
    last_dose_on: date,
    preferences: Preferences | None = None,
    *,
    sequence: int = 1,
    grid_minutes: int = 15,
    not_before: datetime | None = None,
) -> Plan:
    """One maintenance dose as near the target of its due window as the calendar allows, never
    before ``not_before`` (an overdue dose is proposed from then on)."""
    if protocol.maintenance is None:
        raise PlanningError("no_maintenance", f"protocol {protocol.key!r} has no maintenance phase")
    finder = SlotFinder(clinic, rooms, staff, patient, existing_sessions, preferences, grid_minutes)
    stagger(finder, protocol)
    b = PlanBuilder(protocol, finder)
    _plan_maintenance(b, protocol, protocol.maintenance, last_dose_on, sequence, not_before)
    return b.build()
