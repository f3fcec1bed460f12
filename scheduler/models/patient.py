from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.models.base import Base, utcnow

CONTACT_PREFERENCES = ("email", "sms", "none")


def default_contact_preference(email: str | None, phone: str | None) -> str:
    """Email when an email is known, else SMS when a phone is, else none."""
    return "email" if email else "sms" if phone else "none"


def _contact_default(context) -> str:
    params = context.get_current_parameters()
    return default_contact_preference(params.get("email"), params.get("phone"))


class Patient(Base):
    """A patient. ``dosing_hold_reason`` set means a clinician has stopped dosing (e.g. mania)."""

    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    ride_home_arranged: Mapped[bool] = mapped_column(default=False)
    contact_preference: Mapped[str] = mapped_column(
        Enum(
            *CONTACT_PREFERENCES,
            name="contact_preference",
            native_enum=False,
            create_constraint=True,
            validate_strings=True,
        ),
        default=_contact_default,
    )
    # Set when the patient opted out of messages (the preference is then "none" until changed).
    contact_opted_out_at: Mapped[datetime | None]
    dosing_hold_reason: Mapped[str | None] = mapped_column(String(500))
    dosing_hold_since: Mapped[datetime | None]
    dosing_hold_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # The patient's Spravato REMS enrollment (both None: not enrolled; no esketamine dose is booked).
    rems_enrollment_id: Mapped[str | None] = mapped_column(String(64))
    rems_enrolled_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def on_dosing_hold(self) -> bool:
        return self.dosing_hold_reason is not None
