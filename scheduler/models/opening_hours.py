from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.models.base import Base

if TYPE_CHECKING:
    from scheduler.models.clinic import Clinic


class OpeningHours(Base):
    """One open interval [start_time, end_time) of the clinic's local wall-clock time on a weekday (0 = Monday).

    ``*_time`` columns are naive local times of day (``*_at`` ones are UTC instants, ``*_on`` local dates).
    Exports keep the columns' published names ``opens_at``/``closes_at`` (services/exports.py)."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_time < end_time", name="start_before_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    clinic: Mapped[Clinic] = relationship(back_populates="opening_hours")
