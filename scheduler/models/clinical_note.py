from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow


class ClinicalNote(Base):
    """A clinician's note on a patient (optionally on one session). Never shown to the front desk."""

    __tablename__ = "clinical_note"
    __table_args__ = (Index("ix_clinical_note_patient_id_created_at", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    treatment_session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
