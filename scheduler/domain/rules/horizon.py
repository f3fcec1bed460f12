"""How far from a change in time the rule book can look for another session of the same patient
that is not in one of the course views a change can alter.

A change (a new session, a moved one) can introduce a flag only through sessions the rules pair it
with: its own course's sessions and the patient's open courses (their rules run whole), the
patient's evaluations (an evaluation counts for any course), and neighbours in time — doses spaced
across courses or outside any course (``min_gap_days``/``max_gap_days`` of a stage), an integration
after a dose (``within_hours``), a follow-up after the last dose (``max_days_after``), preparation
sessions (``min_gap_days``). Flags of a closed course none of whose sessions is that near are the
same before and after the change, so the write gate need not read them (see
``services.inputs.gate_sessions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from scheduler.domain.protocols import Protocol

MARGIN = timedelta(days=7)  # calendar days in a clinic's zone against UTC instants, DST shifts


def neighbour_horizon(protocols: Iterable[Protocol]) -> timedelta:
    """The longest reach of a rule pairing a session with a neighbour in time, plus a margin."""
    days = 1
    for p in protocols:
        for stage in p.induction.stages:
            days = max(days, stage.min_gap_days, stage.max_gap_days, stage.window_days)
        if p.integration is not None:
            days = max(days, -(-p.integration.within_hours // 24) + 1)
        if p.follow_up is not None:
            days = max(days, p.follow_up.max_days_after)
        if p.preparation is not None:
            days = max(days, p.preparation.min_gap_days)
    return timedelta(days=days) + MARGIN
