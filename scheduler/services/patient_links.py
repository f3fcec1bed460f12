"""Single-use links in messages to patients: confirm, cancel or ask to reschedule a session, tell who
drives them home, or accept a waitlist offer, on a public page that needs no sign-in.

The token is signed with the app's secret key (itsdangerous, which Flask ships) and names the link's
row and a random nonce; only the nonce's SHA-256 is stored, so neither a database reader nor a forger
without the key can make a working link. A link acts once, then shows what was done; it expires when
the session (or the offered slot) ends; every message carries a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from scheduler.db import db_session
from scheduler.errors import NotFound
from scheduler.models import PatientLink, utcnow

_SALT = "scheduler.patient-link"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def create(
    *, expires_at: datetime, message_id: int | None = None, session_id: int | None = None, offer_id: int | None = None
) -> tuple[PatientLink, str]:
    """A new link row and its token (in clear, for the message only)."""
    nonce = secrets.token_urlsafe(24)
    link = PatientLink(
        nonce_hash=_digest(nonce),
        expires_at=expires_at,
        message_id=message_id,
        session_id=session_id,
        offer_id=offer_id,
    )
    db_session.add(link)
    db_session.flush()
    return link, _serializer().dumps([link.id, nonce])


def url(token: str) -> str:
    base = (current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
    return f"{base}/p/{token}"


def resolve(token: str) -> PatientLink:
    """The link a token names; 404 for a forged, mangled or unknown one (never saying which)."""
    unknown = NotFound("This link is not valid. Please call the clinic.")
    try:
        link_id, nonce = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise unknown from None
    link = db_session.get(PatientLink, link_id) if isinstance(link_id, int) and 0 < link_id < 2**31 else None
    if link is None or not isinstance(nonce, str) or not hmac.compare_digest(link.nonce_hash, _digest(nonce)):
        raise unknown
    return link


def expired(link: PatientLink, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= link.expires_at


def mark_used(link: PatientLink, outcome: str, now: datetime | None = None) -> None:
    link.used_at, link.outcome = now or utcnow(), outcome
    db_session.flush()
