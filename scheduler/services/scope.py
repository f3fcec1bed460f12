"""Clinic scoping: the one place that decides which clinics' data the signed-in user may see.

A user with ``clinic_ids`` sees those clinics only; a user without (network admins, the CLI) sees
every clinic. The request sets the scope once, when it knows the user (``limit_to``: bearer token,
page session, a feed's creator); services and routes ask here, never compare ids themselves:

- ``check(entity)``: a clinic, or anything with a ``clinic_id`` (room, staff member, session,
  course, closure...), or a patient — ``NotFound`` (404, as if it did not exist) when out of scope.
- ``clinic_clause(column)`` / ``patient_clause(column)``: the SQL filter for lists and searches.

**Patients are not clinic-bound rows.** A patient is visible when the user may see some clinic
where the patient has a course or a session (any status), or when the patient has neither yet (a
new patient, just registered at the desk, is visible to every clinic until booked). Once booked at
clinic A only, the patient is invisible to a user limited to clinic B.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, exists, false, or_, select, true

from scheduler.errors import NotFound

if TYPE_CHECKING:
    from scheduler.models import Base

# None: every clinic. Set per request by ``limit_to``.
_clinics: ContextVar[frozenset[int] | None] = ContextVar("clinic_scope", default=None)


def limit_to(clinic_ids: Iterable[int] | None) -> None:
    ids = None if clinic_ids is None else frozenset(clinic_ids)
    _clinics.set(ids or None)


def allowed() -> frozenset[int] | None:
    """The clinics in scope, or None for every clinic."""
    return _clinics.get()


def may_see_clinic(clinic_id: int | None) -> bool:
    ids = _clinics.get()
    return ids is None or clinic_id in ids


def clinic_clause(column) -> ColumnElement[bool]:
    ids = _clinics.get()
    if ids is None:
        return true()
    return column.in_(sorted(ids)) if ids else false()


def patient_clause(patient_id_column) -> ColumnElement[bool]:
    """Patients the user may see: some course or session at a clinic in scope, or none anywhere."""
    ids = _clinics.get()
    if ids is None:
        return true()
    from scheduler.models import Course
    from scheduler.models import TreatmentSession as TS

    allowed_ids = sorted(ids)
    return or_(
        exists(select(TS.id).where(TS.patient_id == patient_id_column, TS.clinic_id.in_(allowed_ids))),
        exists(select(Course.id).where(Course.patient_id == patient_id_column, Course.clinic_id.in_(allowed_ids))),
        ~or_(
            exists(select(TS.id).where(TS.patient_id == patient_id_column)),
            exists(select(Course.id).where(Course.patient_id == patient_id_column)),
        ),
    )


def may_see_patient(patient_id: int) -> bool:
    if _clinics.get() is None:
        return True
    from scheduler.db import db_session

    return bool(db_session.scalar(select(patient_clause(patient_id))))


def _label(entity: Any) -> str:
    return getattr(entity, "__tablename__", "entity").replace("_", " ").replace("treatment ", "")


def check(entity: Any, what: str | None = None, *, field: str | None = None):
    """``entity`` when it is in scope, else NotFound as for an id that does not exist."""
    if entity is None or _clinics.get() is None:
        return entity
    from scheduler.models import Clinic, Patient

    if isinstance(entity, Clinic):
        visible = may_see_clinic(entity.id)
    elif isinstance(entity, Patient):
        visible = may_see_patient(entity.id)
    elif hasattr(entity, "clinic_id"):
        visible = may_see_clinic(entity.clinic_id)
    else:
        visible = True
    if not visible:
        raise NotFound(f"No {what or _label(entity)} with id {entity.id}.", field=field)
    return entity


def get(model, ident: Any, what: str | None = None):
    """The entity of ``model`` with id ``ident`` when it exists and is in scope, else NotFound
    (another clinic's entity answers as if it did not exist)."""
    from scheduler.db import db_session

    entity = db_session.get(model, ident) if isinstance(ident, int) else None
    if entity is None:
        raise NotFound(f"No {what or model.__tablename__.replace('_', ' ')} with id {ident}.")
    return check(entity, what)


def audit_clause(entity_type_column, entity_id_column) -> ColumnElement[bool]:
    """Audit events about entities the user may see: a clinic in scope and what belongs to it, a
    visible patient and their clinical records. Accounts, tokens and feeds (not clinic-bound) are
    for network admins only."""
    ids = _clinics.get()
    if ids is None:
        return true()
    from sqlalchemy import and_

    from scheduler.models import (
        Assessment,
        Clinic,
        ClinicalNote,
        Closure,
        Course,
        Patient,
        Room,
        StaffMember,
        TimeOff,
        TreatmentSession,
    )

    allowed_ids = sorted(ids)
    owned: dict[type[Base], Select[int]] = {
        model: select(model.id).where(model.clinic_id.in_(allowed_ids))
        for model in (Room, StaffMember, Closure, TreatmentSession, Course)
    }
    owned[TimeOff] = (
        select(TimeOff.id)
        .join(StaffMember, StaffMember.id == TimeOff.staff_member_id)
        .where(StaffMember.clinic_id.in_(allowed_ids))
    )
    visible_patients = select(Patient.id).where(patient_clause(Patient.id))
    for model in (ClinicalNote, Assessment):
        owned[model] = select(model.id).where(model.patient_id.in_(visible_patients))
    owned[Patient] = visible_patients
    return or_(
        and_(entity_type_column == Clinic.__tablename__, entity_id_column.in_(allowed_ids)),
        *(
            and_(entity_type_column == model.__tablename__, entity_id_column.in_(query))
            for model, query in owned.items()
        ),
    )


def may_manage_user(user) -> bool:
    """A network admin manages every user; an admin limited to some clinics only users limited to
    some of those same clinics (never a network admin, never another clinic's staff)."""
    ids = _clinics.get()
    return ids is None or (bool(user.clinic_ids) and set(user.clinic_ids) <= ids)


def grantable(clinic_ids: list[int], field: str = "clinic_ids") -> list[int]:
    """``clinic_ids`` for a user being created or changed: each clinic must exist and be in the
    granting user's scope; a limited admin must give at least one (none would mean every clinic)."""
    from scheduler.db import db_session
    from scheduler.errors import ValidationError
    from scheduler.models import Clinic

    ids = _clinics.get()
    if ids is not None and not clinic_ids:
        raise ValidationError(
            "clinic_ids: an admin limited to some clinics must limit the user to some of them.", field=field
        )
    known = (
        set(db_session.scalars(select(Clinic.id).where(Clinic.id.in_(sorted(set(clinic_ids))))))
        if clinic_ids
        else set()
    )
    for clinic_id in clinic_ids:
        if clinic_id not in known or not may_see_clinic(clinic_id):
            raise NotFound(f"No clinic with id {clinic_id}.", field=field)
    return sorted(set(clinic_ids))


def visible_flags(flags: list, visible_session_ids: set[int]) -> list:
    """A patient's flags weigh every session anywhere (a dose too close to one given at another clinic
    is a safety matter); a limited user sees those touching a session they may see."""
    if _clinics.get() is None:
        return flags
    return [f for f in flags if visible_session_ids & set(f.session_ids)]
