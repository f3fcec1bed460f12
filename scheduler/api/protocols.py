"""The protocols loaded at start-up (shipped plus the clinic's folder), with their rules."""

from __future__ import annotations

from scheduler.api import bp
from scheduler.auth import require
from scheduler.errors import NotFound
from scheduler.protocols_registry import protocols


@bp.get("/protocols")
@require("read_schedule")
def list_protocols():
    return {"protocols": [{"key": key, **proto.to_dict()} for key, proto in protocols().items()]}


@bp.get("/protocols/<key>")
@require("read_schedule")
def get_protocol(key: str):
    proto = protocols().get(key)
    if proto is None:
        raise NotFound(f"No protocol {key!r}.")
    return {"key": key, **proto.to_dict()}
