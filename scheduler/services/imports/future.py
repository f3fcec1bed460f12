"""The rule book for a file's future sessions, with the context loaded once per clinic.

``services.sessions.book`` loads its context (clinic hours and closures, clinicians and their time
off, the patient's history, the room's and clinician's day) for every session: ~10 statements each.
An import of thousands of future sessions runs the same rules (``domain.flags.candidate_flags``,
the rule book every write goes through) over the same context loaded once: the clinic over the
file's span, the whole histories of the file's patients, the live sessions and slot holds of the
clinic's days; every session taken is added to it, so later rows see earlier ones.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain import flags as rules
from scheduler.domain import values as v
from scheduler.domain.flags.model import FlagContext
from scheduler.domain.intervals import Interval, overlaps
from scheduler.domain.values import Session, by_id
from scheduler.models import Patient
from scheduler.protocols_registry import protocols
from scheduler.services import holds, inputs
from scheduler.services.flags import course_facts

HARD_CODES = {"room_double_booked", "patient_double_booked"}  # the import's own check names them


class FutureChecker:
    def __init__(self, rows, patient_ids, now: datetime) -> None:
        self.now = now
        self.contexts: dict[int, tuple[v.Clinic, tuple[v.Room, ...], tuple[v.StaffMember, ...]]] = {}
        self.near: dict[tuple[int, date], list[Session]] = defaultdict(list)
        self.held: list[Session] = []
        by_clinic: dict[int, list] = defaultdict(list)
        for row in rows:
            by_clinic[row.clinic.id].append(row)
        patient_ids = sorted(set(patient_ids))
        self.history: dict[int, list[Session]] = defaultdict(list)
        for s in inputs.patient_sessions(patient_ids):
            self.history[s.patient_id].append(s)
        others: set[int] = set()
        for clinic_id, group in by_clinic.items():
            span = Interval(
                min(r.starts_at for r in group) - timedelta(days=1), max(r.ends_at for r in group) + timedelta(days=1)
            )
            loaded = inputs.clinic_inputs(clinic_id, span)
            self.contexts[clinic_id] = (loaded.clinic, loaded.rooms, loaded.staff)
            for s in loaded.sessions:
                if s.live:
                    self._place(s)
                    others.add(s.patient_id)
            self.held.extend(holds.as_sessions(clinic_id, span, patient_ids))
        ids = sorted(set(patient_ids) | others)
        self.patients: dict[int, v.Patient] = {}
        for i in range(0, len(ids), 500):
            for p in db_session.scalars(select(Patient).where(Patient.id.in_(ids[i : i + 500]))):
                self.patients[p.id] = inputs.patient_value(p)

    def _place(self, s: Session) -> None:
        self.near[(inputs.clinic_of(s), s.starts_at.date())].append(s)

    def hold_on(self, candidate: Session) -> Session | None:
        return next(
            (
                h
                for h in self.held
                if (h.room_id == candidate.room_id or h.patient_id == candidate.patient_id)
                and overlaps(h.starts_at, h.ends_at, candidate.starts_at, candidate.ends_at)
            ),
            None,
        )

    def flags(self, candidate: Session, course) -> list:
        """The candidate's conflicts by the rule book (errors, warnings and info)."""
        clinic_id = inputs.clinic_of(candidate)
        clinic, rooms, staff = self.contexts[clinic_id]
        ctx = FlagContext(
            clinic=clinic,
            protocols=protocols(),
            rooms=by_id(rooms),
            staff=by_id(staff),
            patients=self.patients,
            courses=by_id([course_facts(course)] if course is not None else []),
        )
        day = candidate.starts_at.date()
        pool = list(self.history.get(candidate.patient_id, ()))
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            pool.extend(s for s in self.near.get((clinic_id, d), ()) if s.patient_id != candidate.patient_id)
        found = rules.candidate_flags(ctx, candidate, pool, as_of=self.now)
        return [f for f in found if f.code not in HARD_CODES]

    def taken(self, candidate: Session) -> None:
        self.history[candidate.patient_id].append(candidate)
        self._place(candidate)
