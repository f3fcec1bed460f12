from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.models.base import Base

if TYPE_CHECKING:
    from scheduler.models.staff_member import StaffMember


class WorkingHours(Base):
    """A staff member's weekly working interval [start_time, end_time) of the clinic's local wall-clock time
    on a weekday (0 = Monday): naive local times of day, like ``OpeningHours``. Exports keep the columns'
    published names ``starts_at``/``ends_at`` (services/exports.py)."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_time < end_time", name="start_before_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    staff_member: Mapped[StaffMember] = relationship(back_populates="working_hours")
