"""A session's lifecycle: the one table of the status changes a session may make.

``TRANSITIONS``: action -> (statuses it may start from, status it leads to). Reinstating undoes a
cancellation: it leads back to the status the session had before it was cancelled
(``restored_status``), so its target is ``None``. ``services.sessions`` performs every action and asks
this table first; the pages offer an action only when the table allows it.
"""

from __future__ import annotations

from typing import NamedTuple


class Transition(NamedTuple):
    sources: tuple[str, ...]  # the statuses the action may start from
    target: str | None  # the status it leads to (None: the one before the cancellation)


TRANSITIONS: dict[str, Transition] = {
    "check_in": Transition(("proposed", "booked"), "checked_in"),
    "complete": Transition(("booked", "checked_in"), "completed"),
    "no_show": Transition(("proposed", "booked"), "no_show"),
    "cancel": Transition(("proposed", "booked", "checked_in"), "cancelled"),
    "reinstate": Transition(("cancelled",), None),
}
# The attendance actions (``sessions.transition``, the session page's buttons), in the page's order.
ATTENDANCE = ("check_in", "complete", "no_show")
# A move keeps the status: only a session still to be held may move.
RESCHEDULABLE = ("proposed", "booked")


def allows(action: str, status: str) -> bool:
    """Whether a session of ``status`` may be ``action``-ed (a key of ``TRANSITIONS``)."""
    return status in TRANSITIONS[action].sources


def restored_status(recorded: str | None) -> str:
    """The status a reinstated session gets back: the one recorded before its cancellation when it is
    one a session can be cancelled from, else booked."""
    return recorded if recorded is not None and recorded in TRANSITIONS["cancel"].sources else "booked"
