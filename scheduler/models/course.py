from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Date, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.domain.vocabulary import COURSE_STATUSES
from scheduler.models.base import Base, utcnow

if TYPE_CHECKING:
    from scheduler.models.patient import Patient


class Course(Base):
    """One patient's run of one protocol. ``preferences``: weekdays, earliest, latest, room, staff."""

    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    protocol_key: Mapped[str] = mapped_column(String(64))
    start_on: Mapped[date] = mapped_column(Date)
    preferences: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(
        Enum(*COURSE_STATUSES, name="course_status", native_enum=False, create_constraint=True, validate_strings=True),
        default="planned",
    )
    stopped_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()
