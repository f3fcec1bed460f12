from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow

MESSAGE_KINDS = ("reminder", "booking_confirmation", "cancellation", "waitlist_offer")
MESSAGE_CHANNELS = ("email", "sms")
MESSAGE_STATUSES = ("pending", "sent", "failed", "withdrawn")


def _enum(values: tuple[str, ...], name: str) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, validate_strings=True)


class Message(Base):
    """One entry of the transactional outbox: a message to a patient, written in the same transaction
    as the change that causes it and delivered later by ``scheduler worker``.

    The text is rendered when the message is delivered (from the session as it is then), so only the
    addressing is stored. ``claimed_until`` is a worker's lease: a worker that claimed the row delivers
    it; another worker skips it until the lease runs out (a crashed worker's rows come back).
    """

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(_enum(MESSAGE_KINDS, "message_kind"))
    channel: Mapped[str] = mapped_column(_enum(MESSAGE_CHANNELS, "message_channel"))
    # "to" is reserved in SQL: the column is "recipient".
    to: Mapped[str] = mapped_column("recipient", String(200))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("waitlist_offer.id"), index=True)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(_enum(MESSAGE_STATUSES, "message_status"), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
