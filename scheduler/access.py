"""Reads of patient data are logged (HIPAA audit controls): who read which patient's what, when.

A view that reads patient data is marked ``@access.logged`` (directly under its route decorator),
so its GET runs as a write transaction (on SQLite ``BEGIN IMMEDIATE``: the log entry cannot fail
on a lock upgrade), and calls ``access.log_read(what, patient_id, ...)`` once it knows whose data
it answers with. The entries are written in the request's transaction and committed with it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import g, request

from scheduler.db import keep_on_rollback
from scheduler.services import access_log


def logged(view: Callable) -> Callable:
    view.writes_on_read = True  # type: ignore[attr-defined]  # read by db._declare_intent and by the access-log tests
    return view


def log_read(what: str, *patient_ids: int, user_id: int | None = None) -> None:
    """Log that the signed-in user (or ``user_id``: a feed's owner) read these patients' ``what``."""
    reader = user_id if user_id is not None else g.user.id
    if not patient_ids:
        return
    route = f"{request.method} {request.path}"
    access_log.record(reader, patient_ids, what, route)
    # A refusal (4xx) rolls the request back, but the page it answers with may still show the
    # patient (a refused form shown again): the read is written again after the rollback.
    keep_on_rollback(
        (reader, tuple(patient_ids), what, route), lambda: access_log.record(reader, patient_ids, what, route)
    )
