"""The manager's reports: ``GET /reports/<name>?clinic_id=&start=&end=`` → ``{"rows": [...]}``, or
with ``format=csv`` the same rows as a CSV download."""

from __future__ import annotations

from flask import Response, request

from scheduler.api import bp
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.errors import ValidationError
from scheduler.services import reports


def _answer(name: str):
    fmt = request.args.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise ValidationError("format must be json or csv.", field="format")
    by = request.args.get("by") or "day"
    if by not in ("day", "week"):
        raise ValidationError("by must be day or week.", field="by")
    w = reports.window(p.query_int("clinic_id", required=True), p.query_date("start"), p.query_date("end"))
    body = reports.build(name, w, by)
    if fmt == "csv":
        filename = f"{name}-clinic{w.clinic_id}-{w.first}-{w.last}.csv"
        return Response(
            reports.to_csv(name, body),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return body


def _route(name: str) -> None:
    def view():
        return _answer(name)

    view.__name__ = f"report_{name}"
    bp.add_url_rule(
        f"/reports/{name}", endpoint=view.__name__, view_func=require("read_reports")(view), methods=["GET"]
    )


for _name in reports.COLUMNS:
    _route(_name)
