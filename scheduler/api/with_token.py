"""A view's first read carried by the API token's statement: one statement less on a hot path.

Every API request reads its bearer token (``auth.authenticate_bearer``: a revocation counts at once).
A view that always reads the patient it names next (a booking, a course plan) registers a ``reader``
for its endpoint: the token's look-up then reads that patient in the same statement
(``inputs.token_with_patient``) and keeps what it read for this request only, under the key it was
read for (its patient and room). The view takes it with ``take(patient_id, room_id)`` — or reads it
itself when it asks for another patient or room than the look-up saw, or nothing was kept. Nothing is judged early:
the token by ``auth`` first (401 before anything in the body is refused), the patient by the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request

from scheduler import auth
from scheduler.services import inputs

_KEPT = "scheduler.read_with_token"  # request.environ: ((patient id, room id), what was read)
_MAX_ID = 2**31 - 1

# endpoint -> what the token's statement reads with it: the request → (patient id, room id), or None
# when the request names no well-formed patient (then the token is read alone).
Reader = Callable[[], tuple[int, int | None] | None]
READERS: dict[str, Reader] = {}


def well_formed_id(value: Any) -> int | None:
    """``value`` when it is an id a row can have, else None (the view still parses and refuses it)."""
    return value if type(value) is int and 1 <= value <= _MAX_ID else None


def reads_with_token(endpoint: str, reader: Reader) -> None:
    READERS[endpoint] = reader


def lookup_for(endpoint: str | None) -> Callable[[str], auth.TokenRow | None]:
    """The token's look-up for ``endpoint``: its reader's, or the token alone."""
    reader = READERS.get(endpoint or "")
    if reader is None:
        return auth.token_row

    def lookup(digest: str) -> auth.TokenRow | None:
        wanted = reader()
        if wanted is None:
            return auth.token_row(digest)
        found, rows = inputs.token_with_patient(digest, *wanted)
        if rows is not None:
            request.environ[_KEPT] = (wanted, rows)
        return found

    return lookup


def take(patient_id: int, room_id: int | None = None) -> inputs.BookingRows | None:
    """What the token's statement read for this patient and room in this request (once), or None."""
    kept = request.environ.pop(_KEPT, None)
    return kept[1]() if kept is not None and kept[0] == (patient_id, room_id) else None
