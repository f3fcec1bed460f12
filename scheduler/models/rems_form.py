from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow


class RemsMonitoringForm(Base):
    """The Spravato REMS Patient Monitoring Form of one esketamine session (one per session; a
    correction replaces the values, audited). ``field_set``: the version of the field set the values
    follow (:data:`scheduler.domain.rems_form.FIELD_SET_VERSION`). Every value is clinical content."""

    __tablename__ = "rems_monitoring_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_session.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    field_set: Mapped[int] = mapped_column(SmallInteger)
    bp_before_systolic: Mapped[int] = mapped_column(SmallInteger)
    bp_before_diastolic: Mapped[int] = mapped_column(SmallInteger)
    bp_40min_systolic: Mapped[int] = mapped_column(SmallInteger)
    bp_40min_diastolic: Mapped[int] = mapped_column(SmallInteger)
    bp_discharge_systolic: Mapped[int] = mapped_column(SmallInteger)
    bp_discharge_diastolic: Mapped[int] = mapped_column(SmallInteger)
    sedation: Mapped[str] = mapped_column(String(32))
    dissociation: Mapped[str] = mapped_column(String(32))
    respiratory_status: Mapped[str] = mapped_column(String(32))
    monitoring_minutes: Mapped[int] = mapped_column(SmallInteger)
    monitoring_reason: Mapped[str | None] = mapped_column(String(500))
    ready_to_leave_at: Mapped[datetime]
    adverse_events: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
