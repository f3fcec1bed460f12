"""Payer: a dose counts against the patient's authorization for its protocol (one unit per dose; for
TMS one session). A dose past the units authorized, or outside the authorization's dates, is
``authorization_exceeded`` (an error, overridable with a reason: the clinic may treat unpaid); an
authorization with few units left or close to its end date is ``authorization_low`` on the next dose
that uses it. A patient with no authorization for the protocol is not blocked.

Predicates: :func:`authorization_for`, :func:`unit_number`, :func:`may_use_units`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from scheduler.domain.rules.calendar import session_flag
from scheduler.domain.rules.model import Flag, FlagContext, day_label
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Authorization, Session

COUNTED_STATUSES = ("booked", "checked_in", "completed")
EXPIRES_SOON = timedelta(days=14)


def authorizations_for(ctx: FlagContext, s: Session) -> list[Authorization]:
    """The patient's authorizations for the protocol of ``s``'s course (none: the dose is not counted)."""
    protocol = ctx.protocol_of(s)
    patient = ctx.patients.get(s.patient_id)
    if protocol is None or patient is None or s.kind != "dose":
        return []
    return [a for a in patient.authorizations if a.protocol == protocol.key]


def may_use_units(changes: Iterable[Session]) -> bool:
    """Whether any of ``changes`` (new sessions, moved ones) can use or give back an authorization's
    unit: only doses count, so when none is a dose no authorization flag differs before and after
    them, and a gate judging them needs no authorizations."""
    return any(c.kind == "dose" for c in changes)


def authorization_for(auths: Iterable[Authorization], day: date) -> Authorization | None:
    return next((a for a in auths if a.covers(day)), None)


def unit_number(a: Authorization, s: Session) -> int:
    """The unit ``s`` uses: one more than the counted doses before it (itself left out)."""
    return 1 + sum(1 for sid, start in a.counted if sid != s.id and start < s.starts_at)


def _dates(a: Authorization) -> str:
    return f"{day_label(a.valid_from)} – {day_label(a.valid_to)}"


def exceeded_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    if s.status not in COUNTED_STATUSES:
        return []
    auths = authorizations_for(ctx, s)
    if not auths:
        return []
    day = local_date(s.starts_at, ctx.tz)
    a = authorization_for(auths, day)
    who = ctx.patient_name(s.patient_id)
    if a is None:
        known = ", ".join(f"{x.payer} {x.reference} ({_dates(x)})" for x in auths)
        return [
            session_flag(
                ctx,
                "authorization_exceeded",
                s,
                f"{ctx.label(s).capitalize()} for {who} on {ctx.when(s.starts_at)} falls outside the "
                f"dates authorized: {known}.",
                "Ask the payer to extend the authorization, move the dose inside its dates, or "
                "book with a reason (unpaid).",
            )
        ]
    n = unit_number(a, s)
    if n <= a.units_authorized:
        return []
    return [
        session_flag(
            ctx,
            "authorization_exceeded",
            s,
            f"{ctx.label(s).capitalize()} for {who} on {ctx.when(s.starts_at)} would be unit {n} of "
            f"{a.units_authorized} authorized by {a.payer} ({a.reference}).",
            "Ask the payer for more units, or book with a reason (unpaid).",
        )
    ]


def low_flags(
    ctx: FlagContext, sessions: Iterable[Session], as_of: datetime, scope: set[int] | None = None
) -> list[Flag]:
    """``authorization_low`` on the next counted dose of each authorization running low."""
    today = local_date(as_of, ctx.tz)
    out: list[Flag] = []
    seen: set[int] = set()
    for s in sorted(sessions, key=lambda x: x.starts_at):
        if s.starts_at < as_of or s.status not in COUNTED_STATUSES or (scope is not None and s.id not in scope):
            continue
        a = authorization_for(authorizations_for(ctx, s), local_date(s.starts_at, ctx.tz))
        if a is None or a.id in seen:
            continue
        seen.add(a.id)
        soon = a.valid_to - today <= EXPIRES_SOON
        if a.units_left > a.low_units and not soon:
            continue
        out.append(
            session_flag(
                ctx,
                "authorization_low",
                s,
                f"{a.payer} authorization {a.reference} for {ctx.patient_name(s.patient_id)}: "
                f"{a.units_used} of {a.units_authorized} units used, until {day_label(a.valid_to)}.",
                "Ask the payer to renew or extend the authorization before it runs out.",
            )
        )
    return out


def recounted(ctx: FlagContext, changes: Iterable[Session]) -> FlagContext:
    """``ctx`` with its patients' authorizations as they would be once ``changes`` are written: a
    changed session's old unit is dropped, and the changes that are counted doses of an
    authorization's protocol inside its dates use a unit (new sessions carry their placeholder ids)."""
    from dataclasses import replace

    placed = [(c.id, c) for c in changes if c.id is not None]
    touched = {c.patient_id for _, c in placed}
    if not any(ctx.patients.get(pid) is not None and ctx.patients[pid].authorizations for pid in touched):
        return ctx
    patients = dict(ctx.patients)
    for pid in touched:
        patient = patients.get(pid)
        if patient is None or not patient.authorizations:
            continue
        mine = [(cid, c) for cid, c in placed if c.patient_id == pid]
        ids = {cid for cid, _ in mine}
        auths = []
        for a in patient.authorizations:
            extra = [
                (cid, c.starts_at)
                for cid, c in mine
                if c.kind == "dose"
                and c.status in COUNTED_STATUSES
                and a in authorizations_for(ctx, c)
                and a.covers(local_date(c.starts_at, ctx.tz))
            ]
            counted = sorted([x for x in a.counted if x[0] not in ids] + extra, key=lambda x: (x[1], x[0]))
            auths.append(replace(a, counted=tuple(counted)))
        patients[pid] = replace(patient, authorizations=tuple(auths))
    return replace(ctx, patients=patients)
