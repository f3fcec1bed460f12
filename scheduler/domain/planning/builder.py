"""Assembling a plan: proposed sessions in the order found, their problems, and the final ordering."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from scheduler.domain.planning.results import Plan, Problem, ProposedSession, Slot
from scheduler.domain.planning.slots import DAY, SlotFinder, date_range, extended_from
from scheduler.domain.protocols import DoseSpec, Protocol, SessionSpec

KIND_ORDER = {"evaluation": 0, "preparation": 1, "dose": 2, "integration": 3, "follow_up": 4}


class PlanBuilder:
    def __init__(self, protocol: Protocol, finder: SlotFinder):
        self.protocol = protocol
        self.finder = finder
        self.entries: list[ProposedSession] = []
        self.problems: list[tuple[str, str, tuple[int, ...], str]] = []  # entries indexes, remapped later

    def add(
        self, kind: str, spec: SessionSpec, slots: list[Slot], *, phase=None, sequence: int, label: str, route=None
    ) -> list[int]:
        ids = []
        for k, s in enumerate(slots):
            seq = sequence + k
            lab = label if len(slots) == 1 else f"{label} ({k + 1} of {len(slots)} that day)"
            self.entries.append(
                ProposedSession(kind, phase, seq, route, s.starts_at, s.ends_at, s.room_id, s.staff_member_id, lab)
            )
            ids.append(len(self.entries) - 1)
        relaxed = slots[0].relaxed
        what = label[0].lower() + label[1:]
        if "preferences" in relaxed:
            self.problem(
                "preference_not_met",
                f"No time matching the course's preferred days and times was free "
                f"for the {what}; proposed outside them.",
                ids,
                "info",
            )
        if "guidance" in relaxed:
            self.problem(
                "protocol_guidance_not_met",
                f"The {what} breaks the protocol's weekday or per-week guidance: no other free day was found.",
                ids,
                "warning",
            )
        if "room" in relaxed:
            self.problem(
                "room_unsuitable",
                f"The clinic has no active room with the '{spec.capability}' "
                f"capability for the {what}; proposed in an unsuitable room.",
                ids,
            )
        if "spacing" in relaxed:
            self.problem(
                "doses_too_close",
                f"No free time keeps the {what} the protocol's minimum gap from the "
                "patient's other doses (another course or outside any course); proposed anyway.",
                ids,
            )
        if "staff" in relaxed:
            self.problem(
                "staff_unavailable", f"No {spec.role} is available for the {what}; proposed without a clinician.", ids
            )
        return ids

    def snapshot(self) -> tuple:
        f = self.finder
        return (
            list(self.entries),
            list(self.problems),
            [{k: list(v) for k, v in ix.by_key.items()} for ix in (f.room_busy, f.patient_busy, f.staff_busy)],
        )

    def restore(self, snap: tuple) -> None:
        entries, problems, indexes = snap
        self.entries[:] = entries
        self.problems[:] = problems
        for ix, saved in zip((self.finder.room_busy, self.finder.patient_busy, self.finder.staff_busy), indexes):
            ix.by_key = {k: list(v) for k, v in saved.items()}

    def problem(self, code: str, message: str, ids: Iterable[int] = (), severity: str = "error") -> None:
        self.problems.append((code, message, tuple(ids), severity))

    def build(self) -> Plan:
        order = sorted(
            range(len(self.entries)),
            key=lambda i: (self.entries[i].starts_at, KIND_ORDER[self.entries[i].kind], self.entries[i].sequence),
        )
        new_index = {old: new for new, old in enumerate(order)}
        problems = tuple(
            Problem(code, msg, tuple(sorted(new_index[i] for i in ids)), sev) for code, msg, ids, sev in self.problems
        )
        return Plan(self.protocol.key, tuple(self.entries[i] for i in order), problems)


def stage_ranges(lo: date, hi: date) -> tuple[list[date], list[date]]:
    strict = date_range(lo, hi)
    ext_start = max(lo, hi + DAY)
    return strict, extended_from(ext_start)


def dose_problems(b: PlanBuilder, spec: DoseSpec, ids: list[int]) -> None:
    patient = b.finder.patient
    if patient.dosing_hold_reason is not None:
        b.problem(
            "dosing_hold",
            "A clinician has put this patient's dosing on hold; doses are flagged until it is lifted.",
            ids,
        )
    if spec.ride_home_required and not patient.ride_home_arranged:
        b.problem(
            "ride_home_missing",
            "The patient must not drive after this dose and has no ride home arranged.",
            ids,
            "warning",
        )
    if spec.rems:
        rems_problems(b, ids)


def rems_problems(b: PlanBuilder, ids: list[int]) -> None:
    """The rule book's REMS predicates on planned doses: enrollment and certification (never
    overridable), a prescriber on site for the whole dose."""
    from scheduler.domain.rules.rems import prescriber_on_site, rems_missing
    from scheduler.domain.timezones import local_date

    f = b.finder
    for i in ids:
        e = b.entries[i]
        missing = rems_missing(f.clinic, f.patient, local_date(e.starts_at, f.tz))
        if missing:
            b.problem("rems_not_enrolled", f"{e.label} needs the Spravato REMS, but {'; '.join(missing)}.", (i,))
        if not prescriber_on_site(f.clinic, f.staff, e.interval):
            b.problem(
                "prescriber_not_on_site",
                f"No prescriber works at the clinic for the whole of {e.label.lower()} "
                "(REMS: a prescriber on site during administration and monitoring).",
                (i,),
            )
