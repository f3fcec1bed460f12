from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow


class IdempotencyKey(Base):
    """A booking request sent with an ``Idempotency-Key`` header, and the answer it got.

    Unique per (user, key): a retry finds the row and gets the stored answer instead of booking
    again. ``status_code`` stays empty while the first request is still running.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    response_body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
