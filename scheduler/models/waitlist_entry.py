from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.domain.vocabulary import SESSION_KINDS
from scheduler.models.base import Base, utcnow

WAITLIST_STATUSES = ("waiting", "booked", "removed")


class WaitlistEntry(Base):
    """A patient waiting for a kind of session at a clinic between two local dates, with the patient's
    preferences (``{"weekdays": [...], "earliest": "HH:MM", "latest": "HH:MM"}``). Freed slots that are
    valid for the patient under the protocol rules are offered (``WaitlistOffer``)."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (Index("ix_waitlist_entry_clinic_id_status", "clinic_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    kind: Mapped[str] = mapped_column(
        Enum(*SESSION_KINDS, name="waitlist_kind", native_enum=False, create_constraint=True, validate_strings=True)
    )
    protocol: Mapped[str | None] = mapped_column(String(64))
    earliest_on: Mapped[date] = mapped_column(Date)
    latest_on: Mapped[date] = mapped_column(Date)
    preferences: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(
        Enum(
            *WAITLIST_STATUSES, name="waitlist_status", native_enum=False, create_constraint=True, validate_strings=True
        ),
        default="waiting",
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
