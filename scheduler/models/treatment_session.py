from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, Numeric, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.domain.vocabulary import PHASES, ROUTES, SESSION_KINDS, SESSION_STATUSES
from scheduler.models.base import Base, utcnow

if TYPE_CHECKING:
    from scheduler.models.course import Course
    from scheduler.models.patient import Patient
    from scheduler.models.room import Room
    from scheduler.models.staff_member import StaffMember


def _enum(values: tuple[str, ...], name: str) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, validate_strings=True)


class TreatmentSession(Base):
    """One appointment, the half-open instant interval [starts_at, ends_at).

    On PostgreSQL two live sessions (status not cancelled/no_show) can never overlap for one room
    or one patient: exclusion constraints ``ex_treatment_session_room_overlap`` and
    ``ex_treatment_session_patient_overlap`` (btree_gist, created by the migrations by hand since
    autogenerate does not see them). On SQLite the booking service checks and inserts inside one
    ``BEGIN IMMEDIATE`` transaction.

    ``version`` increments on every change (SQLAlchemy's version counter): a write based on a
    stale version is refused.
    """

    __tablename__ = "treatment_session"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        Index("ix_treatment_session_room_id_starts_at", "room_id", "starts_at"),
        Index("ix_treatment_session_patient_id_starts_at", "patient_id", "starts_at"),
        Index("ix_treatment_session_staff_member_id_starts_at", "staff_member_id", "starts_at"),
        Index("ix_treatment_session_clinic_id_starts_at", "clinic_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    kind: Mapped[str] = mapped_column(_enum(SESSION_KINDS, "session_kind"))
    phase: Mapped[str | None] = mapped_column(_enum(PHASES, "session_phase"))
    sequence: Mapped[int | None] = mapped_column(SmallInteger)
    route: Mapped[str | None] = mapped_column(_enum(ROUTES, "session_route"))
    dose_mg: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(_enum(SESSION_STATUSES, "session_status"), default="booked")
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # Set when the front desk booked despite flagged conflicts; the reason is audited too.
    override_reason: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(String(2000))
    # The session's id in the system it was imported from (``scheduler import sessions``).
    external_id: Mapped[str | None] = mapped_column(String(100), index=True, unique=True)
    # Answers the patient gave through a message's link.
    confirmed_at: Mapped[datetime | None]
    ride_home_by: Mapped[str | None] = mapped_column(String(200))
    reschedule_requested_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    patient: Mapped[Patient] = relationship()
    room: Mapped[Room] = relationship()
    staff_member: Mapped[StaffMember | None] = relationship()
    course: Mapped[Course | None] = relationship()
