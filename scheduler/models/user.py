from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.domain.vocabulary import USER_ROLES
from scheduler.models.base import Base, utcnow

if TYPE_CHECKING:
    from scheduler.models.user_clinic import UserClinic


class User(Base):
    """Someone who signs in: ``admin``, ``front_desk`` or ``clinician`` (optionally a staff member)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(
        Enum(*USER_ROLES, name="user_role", native_enum=False, create_constraint=True, validate_strings=True)
    )
    # argon2 hash; None means the user signs in with API tokens only.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Raised by sign-out and by a password change: every page cookie carries the epoch it was made
    # in, and one from an older epoch is refused, so those end every session of the user at once.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    # The clinics the user is limited to; none: every clinic (scheduler/services/scope.py).
    clinic_links: Mapped[list[UserClinic]] = relationship(cascade="all, delete-orphan", order_by="UserClinic.clinic_id")

    @property
    def clinic_ids(self) -> list[int]:
        return [link.clinic_id for link in self.clinic_links]

    def limit_to_clinics(self, clinic_ids) -> None:
        from scheduler.models.user_clinic import UserClinic

        self.clinic_links = [UserClinic(clinic_id=c) for c in sorted(set(clinic_ids or ()))]
