from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.models.base import Base, utcnow

if TYPE_CHECKING:
    from scheduler.models.closure import Closure
    from scheduler.models.opening_hours import OpeningHours
    from scheduler.models.room import Room
    from scheduler.models.staff_member import StaffMember


class Clinic(Base):
    """One site. ``timezone`` is an IANA name; every local date and time of the clinic is in it."""

    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # How many waitlisted patients a freed slot is offered to by message at once (0: worklist only).
    waitlist_auto_offer: Mapped[int] = mapped_column(SmallInteger, default=0)
    # Reminder hours before a session by kind ({"dose": [72, 24], "default": [24]}); None: the defaults.
    reminder_hours: Mapped[dict | None] = mapped_column(JSON)
    # The Spravato REMS healthcare-setting certification (None: not certified; no esketamine dosing).
    rems_certification_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Raised by every write to the clinic's setup (the clinic, its hours and closures, rooms, staff with
    # their hours and time off; scheduler/services/setup_cache.py): processes cache the setup under it.
    # A new clinic starts at a random value, so a clinic id reused after a wipe never meets an old cache.
    setup_version: Mapped[int] = mapped_column(default=lambda: secrets.randbelow(2**30) + 1, server_default="1")

    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="clinic",
        cascade="all, delete-orphan",
        order_by="(OpeningHours.weekday, OpeningHours.start_time)",
    )
    closures: Mapped[list[Closure]] = relationship(back_populates="clinic", order_by="Closure.starts_on")
    rooms: Mapped[list[Room]] = relationship(back_populates="clinic", order_by="Room.name")
    staff: Mapped[list[StaffMember]] = relationship(back_populates="clinic", order_by="StaffMember.name")
