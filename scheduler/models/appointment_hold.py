from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.domain.vocabulary import PHASES, ROUTES, SESSION_KINDS
from scheduler.models.base import Base, utcnow

if TYPE_CHECKING:
    from scheduler.models.patient import Patient
    from scheduler.models.room import Room
    from scheduler.models.staff_member import StaffMember

HOLD_STATUSES = ("held", "booked", "released", "expired")


def _enum(values: tuple[str, ...], name: str) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, validate_strings=True)


class AppointmentHold(Base):
    """A slot held for one patient through FHIR ``Appointment/$hold`` until ``expires_at``.

    Live while ``status`` is ``held`` and ``expires_at`` is in the future: no one else is offered
    or may book the room (nor the clinician beyond their capacity, nor the patient) in
    [starts_at, ends_at). ``$book`` turns it into the session ``session_id`` (status ``booked``);
    ``$cancel`` releases it. Expiry needs no job: a hold past ``expires_at`` simply stops counting.
    Rows are kept (audited), never deleted.
    """

    __tablename__ = "appointment_hold"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        Index("ix_appointment_hold_room_id_starts_at", "room_id", "starts_at"),
        Index("ix_appointment_hold_patient_id_starts_at", "patient_id", "starts_at"),
        Index("ix_appointment_hold_staff_member_id_starts_at", "staff_member_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"))
    kind: Mapped[str] = mapped_column(_enum(SESSION_KINDS, "hold_session_kind"))
    phase: Mapped[str | None] = mapped_column(_enum(PHASES, "hold_session_phase"))
    sequence: Mapped[int | None] = mapped_column(SmallInteger)
    route: Mapped[str | None] = mapped_column(_enum(ROUTES, "hold_session_route"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(_enum(HOLD_STATUSES, "hold_status"), default="held")
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    released_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship()
    room: Mapped[Room] = relationship()
    staff_member: Mapped[StaffMember | None] = relationship()

    def live(self, now: datetime) -> bool:
        return self.status == "held" and self.expires_at > now
