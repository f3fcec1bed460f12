"""Jinja filters: instants in the clinic's zone, dates the way a clinic writes them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

STATUS_LABELS = {
    "proposed": "Proposed",
    "booked": "Booked",
    "checked_in": "Checked in",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}
KIND_LABELS = {
    "evaluation": "Evaluation",
    "preparation": "Preparation",
    "dose": "Dose",
    "integration": "Integration",
    "follow_up": "Follow-up",
}


def local(value: datetime | None, tz: str, fmt: str = "%H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def day(value: date | datetime | None, fmt: str = "%a %d %b %Y") -> str:
    return "" if value is None else value.strftime(fmt)


def when(value: date | datetime | None, tz: str, today: date | None = None) -> str:
    """ "Sat 28 Mar 09:00" this year, "Sat 28 Mar 2026 09:00" another year (a date alone: no time)."""
    if value is None:
        return ""
    this_year = (today or date.today()).year
    if isinstance(value, datetime):
        local_value = value.astimezone(ZoneInfo(tz))
        year = f" {local_value.year}" if local_value.year != this_year else ""
        return f"{local_value:%a} {local_value.day} {local_value:%b}{year} {local_value:%H:%M}"
    year = f" {value.year}" if value.year != this_year else ""
    return f"{value:%a} {value.day} {value:%b}{year}"


def humanize(code: str | None) -> str:
    if not code:
        return ""
    return STATUS_LABELS.get(code) or KIND_LABELS.get(code) or code.replace("_", " ").capitalize()


def flag_title(code: str) -> str:
    from scheduler.web.worklist import title

    return title(code)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local=local, day=day, when=when, humanize=humanize, flag_title=flag_title)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
