"""iCalendar feeds: ``POST /feeds`` {kind, id} → a secret URL; ``GET /feeds/<token>.ics`` (public,
by token); ``POST /feeds/<id>/revoke``."""

from __future__ import annotations

from flask import Response, current_app, g, url_for
from sqlalchemy import select

from scheduler import access, ical
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import can, require
from scheduler.db import db_session
from scheduler.errors import Forbidden, NotFound
from scheduler.models import FeedToken, User, utcnow
from scheduler.models.feed_token import FEED_KINDS
from scheduler.services import feeds, scope


def feed_json(row: FeedToken) -> dict:
    return {
        "id": row.id,
        "kind": row.kind,
        "subject_id": row.subject_id,
        "created_by_id": row.created_by_id,
        "created_at": serialize.instant(row.created_at),
        "revoked_at": serialize.instant(row.revoked_at),
    }


def uid_host() -> str:
    """The UIDs' domain: the ICAL_UID_DOMAIN setting (stable, whatever hostname a client used)."""
    return current_app.config["ICAL_UID_DOMAIN"]


@bp.post("/feeds")
@require("read_schedule")
def create_feed():
    body = p.json_body()
    p.reject_unknown(body, {"kind", "id"})
    kind = p.choice(body, "kind", FEED_KINDS)
    subject = p.get_or_404(feeds.SUBJECTS[kind], p.integer(body, "id", minimum=1, maximum=2**31 - 1), kind)
    row, token = feeds.create(g.user.id, kind, subject.id)
    url = url_for("api.feed_ics", token=token, _external=True)
    return {**feed_json(row), "token": token, "url": url}, 201


@bp.get("/feeds")
@require("read_schedule")
def list_feeds():
    """The caller's feeds (an admin sees everyone's)."""
    query = select(FeedToken).order_by(FeedToken.id)
    if not can("manage_users"):
        query = query.where(FeedToken.created_by_id == g.user.id)
    return {"feeds": [feed_json(r) for r in db_session.scalars(query) if feeds.visible(r)]}


@bp.post("/feeds/<int:feed_id>/revoke")
@require("read_schedule")
def revoke_feed(feed_id: int):
    row = p.get_or_404(FeedToken, feed_id, "feed")
    if not feeds.visible(row):
        raise NotFound(f"No feed with id {feed_id}.")
    if row.created_by_id != g.user.id and not can("manage_users"):
        raise Forbidden("Only the feed's creator or an admin may revoke it.")
    feeds.revoke(g.user.id, row)
    return feed_json(row)


@bp.get("/feeds/<token>.ics")
@access.logged
def feed_ics(token: str):
    row = feeds.by_token(token) if len(token) <= 100 else None
    if row is None:
        raise NotFound("No feed with this token (it may have been revoked).")
    creator = db_session.get(User, row.created_by_id) if row.created_by_id is not None else None
    scope.limit_to(creator.clinic_ids if creator is not None else None)  # what its creator may see
    sessions, clinics = feeds.sessions_for(row, int(current_app.config.get("FEED_HISTORY_DAYS", feeds.HISTORY_DAYS)))
    if row.created_by_id is not None:  # read on its creator's behalf: every patient the feed shows
        patients = [row.subject_id] if row.kind == "patient" else []
        access.log_read("feed", *patients, *(s.patient_id for s in sessions), user_id=row.created_by_id)
    body = ical.calendar(feeds.subject_name(row), sessions, clinics, uid_host(), utcnow())
    return Response(body, mimetype="text/calendar")  # Cache-Control: no-store (scheduler.headers)
