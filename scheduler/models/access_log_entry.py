from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow


class AccessLogEntry(Base):
    """One read of a patient's data (HIPAA audit controls): who read which patient's what, when, where.

    Written in the reading request's own transaction, so an answer that was sent was also logged.
    """

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_patient_id_at", "patient_id", "at"),
        Index("ix_access_log_user_id_at", "user_id", "at"),
        Index("ix_access_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    # record, timeline, notes, assessments, feed, fhir_appointments (and the pages' equivalents)
    what: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(200))
