from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow


class Authorization(Base):
    """A payer's approval of a patient's protocol: ``units_authorized`` doses (one unit is one dose;
    for TMS one session) between the local dates ``valid_from`` and ``valid_to`` (inclusive)."""

    __tablename__ = "payer_authorization"
    __table_args__ = (
        CheckConstraint("units_authorized > 0", name="units_positive"),
        CheckConstraint("valid_from <= valid_to", name="dates_in_order"),
        Index("ix_payer_authorization_patient_id_protocol", "patient_id", "protocol"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    protocol: Mapped[str] = mapped_column(String(64))
    payer: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(100))
    units_authorized: Mapped[int] = mapped_column(SmallInteger)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
