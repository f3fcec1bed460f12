from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow

OFFER_STATUSES = ("open", "accepted", "gone", "expired")


class WaitlistOffer(Base):
    """A freed slot offered to one waitlisted patient. Several patients may hold an open offer of the
    same slot; the first to accept is booked (the booking's double-booking guard decides) and the
    others' offers become ``gone``."""

    __tablename__ = "waitlist_offer"
    __table_args__ = (Index("ix_waitlist_offer_clinic_id_status", "clinic_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entry.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # The cancelled, moved or missed session whose slot this is.
    freed_session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id"))
    status: Mapped[str] = mapped_column(
        Enum(*OFFER_STATUSES, name="offer_status", native_enum=False, create_constraint=True, validate_strings=True),
        default="open",
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
