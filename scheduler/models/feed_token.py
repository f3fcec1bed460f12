from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow

FEED_KINDS = ("room", "staff", "patient")


class FeedToken(Base):
    """A revocable secret URL for an iCalendar feed of one room, staff member or patient.

    Only the token's SHA-256 is stored; the clear token is in the URL handed out once.
    """

    __tablename__ = "feed_token"
    __table_args__ = (Index("ix_feed_token_kind_subject_id", "kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(
        Enum(*FEED_KINDS, name="feed_kind", native_enum=False, create_constraint=True, validate_strings=True)
    )
    subject_id: Mapped[int]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
