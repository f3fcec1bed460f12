"""Every write records an audit event: who, what, when, the state before and after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, overload

from sqlalchemy import insert, inspect

from scheduler.db import db_session
from scheduler.models import AuditEvent, Base, utcnow

# Who acts when no user does: set to "cli" by the scheduler command (see acting_as).
_actor: ContextVar[str] = ContextVar("audit_actor", default="system")


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Events recorded inside without a user are attributed to ``actor`` ("cli")."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def _json_safe(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


@overload
def snapshot(entity: Base) -> dict[str, Any]: ...
@overload
def snapshot(entity: None) -> None: ...
@overload
def snapshot(entity: Base | None) -> dict[str, Any] | None: ...
def snapshot(entity: Base | None) -> dict[str, Any] | None:
    """The entity's column values as JSON-safe data (secrets left out)."""
    if entity is None:
        return None
    mapper = inspect(entity).mapper
    return {
        attr.key: _json_safe(getattr(entity, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in ("password_hash", "token_hash")
    }


def _actor_of(actor_id: int | None, actor: str | None = None) -> str:
    """The actor word: ``user`` when a user acts (``actor_id``), else ``actor`` or the ``acting_as``."""
    return "user" if actor_id is not None else (actor or _actor.get())


def event(
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int | None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """An audit event, not yet added (bulk paths add many in one flush). ``actor`` is "user" when
    ``actor_id`` is given, else the given one or the current ``acting_as``."""
    return AuditEvent(
        actor_id=actor_id,
        actor=_actor_of(actor_id, actor),
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        reason=reason,
    )


def record(
    actor_id: int | None,
    action: str,
    entity: Base,
    *,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Add an audit event for ``entity``; ``after`` defaults to the entity's current snapshot."""
    db_session.flush()  # the entity has its id
    added = event(
        actor_id,
        action,
        entity.__tablename__,
        getattr(entity, "id", None),
        before=before,
        after=after if after is not None else snapshot(entity),
        reason=reason,
        actor=actor,
    )
    db_session.add(added)
    return added


INSERT_EVENT = insert(AuditEvent)  # built once (the booking path writes one event per request)


def created_values(
    actor_id: int | None, action: str, entity: Base, *, reason: str | None = None, after: dict | None = None
) -> dict[str, Any]:
    """The audit row of a new entity (``before`` empty, ``after`` its snapshot unless given) as the
    column values of one Core INSERT (``write``; the booking's INSERT … RETURNING with its event)."""
    return {
        "at": utcnow(),
        "actor_id": actor_id,
        "actor": _actor_of(actor_id),
        "action": action,
        "entity_type": entity.__tablename__,
        "entity_id": getattr(entity, "id", None),
        "before": None,
        "after": snapshot(entity) if after is None else after,
        "reason": reason,
    }


def write(actor_id: int | None, action: str, entity: Base, *, reason: str | None = None) -> None:
    """``record`` of a new entity (``before`` empty, ``after`` its snapshot), written at once by one
    Core INSERT instead of through the ORM's unit of work at the next flush: for a hot path whose
    caller needs no ``AuditEvent`` object back."""
    db_session.flush()  # the entity has its id
    db_session.execute(INSERT_EVENT, created_values(actor_id, action, entity, reason=reason))


def record_operation(
    actor_id: int | None, action: str, subject: str, *, after: dict | None = None, reason: str | None = None
) -> AuditEvent:
    """Add an audit event for an operation on many rows at once (an import, an export, a restore):
    ``subject`` names what was worked on ("import", "export"); there is no single entity id."""
    added = event(actor_id, action, subject, None, after=_json_safe(after), reason=reason)
    db_session.add(added)
    return added
