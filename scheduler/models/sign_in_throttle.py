from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base

THROTTLE_SCOPES = ("account", "address")


class SignInThrottle(Base):
    """Failed sign-ins counted for one account (lower-cased email) or one client address.

    Kept in the database, not in a worker's memory, so every gunicorn worker and every app
    instance sharing the database sees the same count and the same lock.
    """

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("scope", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(
        Enum(*THROTTLE_SCOPES, name="throttle_scope", native_enum=False, create_constraint=True, validate_strings=True)
    )
    subject: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
