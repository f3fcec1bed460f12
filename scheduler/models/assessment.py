from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.domain.vocabulary import INSTRUMENTS
from scheduler.models.base import Base, utcnow


class Assessment(Base):
    """A dated score on a rating instrument (range checked by the API against INSTRUMENTS)."""

    __tablename__ = "assessment"
    __table_args__ = (
        CheckConstraint("score >= 0", name="score_non_negative"),
        Index("ix_assessment_patient_id_taken_on", "patient_id", "taken_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    instrument: Mapped[str] = mapped_column(
        Enum(*INSTRUMENTS, name="instrument", native_enum=False, create_constraint=True, validate_strings=True)
    )
    score: Mapped[int] = mapped_column(SmallInteger)
    taken_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
