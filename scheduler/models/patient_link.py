from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow


class PatientLink(Base):
    """A single-use link in a message to a patient: confirm, cancel or ask to reschedule a session, or
    accept a waitlist offer, on a public page without signing in.

    The URL carries a token signed with the app's secret key that names this row and a random nonce;
    only the nonce's SHA-256 is stored. The link acts once (``used_at``, ``outcome``) and expires when
    the session (or the offered slot) ends.
    """

    __tablename__ = "patient_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce_hash: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("waitlist_offer.id"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
