"""Jinja filters: instants in the clinic's zone, dates the way a clinic writes them."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

STATUS_LABELS = {"proposed": "Proposed", "booked": "Booked", "checked_in": "Checked in",
                 "completed": "Completed", "cancelled": "Cancelled", "no_show": "No-show"}
KIND_LABELS = {"evaluation": "Evaluation", "preparation": "Preparation", "dose": "Dose",
               "integration": "Integration", "follow_up": "Follow-up"}


def local(value: datetime | None, tz: str, fmt: str = "%H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def day(value: date | datetime | None, fmt: str = "%a %d %b %Y") -> str:
    return "" if value is None else value.strftime(fmt)


def humanize(code: str | None) -> str:
    if not code:
        return ""
    return STATUS_LABELS.get(code) or KIND_LABELS.get(code) or code.replace("_", " ").capitalize()


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local=local, day=day, humanize=humanize)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
