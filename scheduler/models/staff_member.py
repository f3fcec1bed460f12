from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.domain.vocabulary import STAFF_ROLES
from scheduler.models.base import Base, utcnow

if TYPE_CHECKING:
    from scheduler.models.clinic import Clinic
    from scheduler.models.time_off import TimeOff
    from scheduler.models.working_hours import WorkingHours


class StaffMember(Base):
    """A clinician. With no working hours of their own they work the clinic's opening hours."""

    __tablename__ = "staff_member"
    __table_args__ = (CheckConstraint("capacity >= 1", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(
        Enum(*STAFF_ROLES, name="staff_role", native_enum=False, create_constraint=True, validate_strings=True)
    )
    # How many sessions at once this clinician can monitor.
    capacity: Mapped[int] = mapped_column(SmallInteger, default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    clinic: Mapped[Clinic] = relationship(back_populates="staff")
    working_hours: Mapped[list[WorkingHours]] = relationship(
        back_populates="staff_member",
        cascade="all, delete-orphan",
        order_by="(WorkingHours.weekday, WorkingHours.start_time)",
    )
    time_off: Mapped[list[TimeOff]] = relationship(back_populates="staff_member", order_by="TimeOff.starts_at")
