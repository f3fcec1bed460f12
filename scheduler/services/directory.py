"""Clinics, closures, rooms, staff and patients: create and change, with an audit event each."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import or_, select

from scheduler.db import db_session
from scheduler.errors import Conflict
from scheduler.models import (Clinic, Closure, OpeningHours, Patient, Room, StaffMember, TimeOff,
                              WorkingHours)
from scheduler.services import audit

WeeklyHours = dict[int, list[tuple[time, time]]]


def create_clinic(actor_id: int | None, *, name: str, timezone: str, hours: WeeklyHours) -> Clinic:
    clinic = Clinic(name=name, timezone=timezone)
    clinic.opening_hours = [OpeningHours(weekday=d, opens_at=o, closes_at=c)
                            for d, intervals in sorted(hours.items()) for o, c in intervals]
    db_session.add(clinic)
    audit.record(actor_id, "clinic.create", clinic,
                 after={**audit.snapshot(clinic) , "hours": _hours_json(hours)})
    return clinic


def _hours_json(hours: WeeklyHours) -> dict:
    return {str(d): [[o.isoformat(), c.isoformat()] for o, c in iv] for d, iv in hours.items()}


def add_closure(actor_id: int | None, clinic: Clinic, *, starts_on: date, ends_on: date, reason: str,
                from_time: time | None = None, until_time: time | None = None) -> Closure:
    closure = Closure(starts_on=starts_on, ends_on=ends_on, reason=reason, from_time=from_time,
                      until_time=until_time)
    clinic.closures.append(closure)
    audit.record(actor_id, "closure.create", closure)
    return closure


def create_room(actor_id: int | None, clinic: Clinic, *, name: str, capabilities: list[str]) -> Room:
    exists = db_session.scalar(select(Room.id).where(Room.clinic_id == clinic.id, Room.name == name))
    if exists:
        raise Conflict(f"The clinic already has a room named {name!r}.", field="name", code="duplicate")
    room = Room(clinic_id=clinic.id, name=name, capabilities=sorted(set(capabilities)))
    db_session.add(room)
    audit.record(actor_id, "room.create", room)
    return room


def create_staff_member(actor_id: int | None, clinic: Clinic, *, name: str, role: str, capacity: int = 1,
                        hours: WeeklyHours | None = None) -> StaffMember:
    member = StaffMember(clinic_id=clinic.id, name=name, role=role, capacity=capacity)
    member.working_hours = [WorkingHours(weekday=d, starts_at=s, ends_at=e)
                            for d, intervals in sorted((hours or {}).items()) for s, e in intervals]
    db_session.add(member)
    audit.record(actor_id, "staff_member.create", member,
                 after={**audit.snapshot(member), "hours": _hours_json(hours or {})})
    return member


def add_time_off(actor_id: int | None, member: StaffMember, *, starts_at: datetime, ends_at: datetime,
                 reason: str) -> TimeOff:
    time_off = TimeOff(starts_at=starts_at, ends_at=ends_at, reason=reason)
    member.time_off.append(time_off)
    audit.record(actor_id, "time_off.create", time_off)
    return time_off


def create_patient(actor_id: int | None, *, mrn: str, name: str, birth_date: date, phone: str | None = None,
                   email: str | None = None, ride_home_arranged: bool = False) -> Patient:
    existing = db_session.scalar(select(Patient).where(Patient.mrn == mrn))
    if existing is not None:
        raise Conflict(f"MRN {mrn} already belongs to patient {existing.id}.", field="mrn", code="duplicate")
    patient = Patient(mrn=mrn, name=name, birth_date=birth_date, phone=phone, email=email,
                      ride_home_arranged=ride_home_arranged)
    db_session.add(patient)
    audit.record(actor_id, "patient.create", patient)
    return patient


def update_patient(actor_id: int | None, patient: Patient, changes: dict) -> Patient:
    before = audit.snapshot(patient)
    for key, value in changes.items():
        setattr(patient, key, value)
    audit.record(actor_id, "patient.update", patient, before=before)
    return patient


def search_patients(q: str, limit: int = 50) -> list[Patient]:
    """Patients whose MRN is ``q`` exactly or whose name contains it (case-insensitive), by name;
    an empty ``q`` lists the first ``limit`` by name."""
    query = select(Patient).order_by(Patient.name, Patient.id).limit(limit)
    q = q.strip()
    if q:
        query = query.where(or_(Patient.mrn == q, Patient.name.ilike(f"%{q}%")))
    return list(db_session.scalars(query))
