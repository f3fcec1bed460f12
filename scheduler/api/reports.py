"""The manager's reports: ``GET /reports/<name>?clinic_id=&start=&end=`` → ``{"rows": [...]}``, or
with ``format=csv`` the same rows as a CSV download."""
from __future__ import annotations

import csv
import io

from flask import Response, request

from scheduler.api import bp
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.errors import ValidationError
from scheduler.services import reports

COLUMNS = {
    "utilization": ("room_id", "room", "date", "used_minutes", "open_minutes", "utilization"),
    "attendance": ("dimension", "value", "sessions", "no_shows", "late_cancels", "no_show_rate", "late_cancel_rate"),
    "funnel": ("stage", "label", "courses", "share", "median_days_from_evaluation"),
    "outcomes": ("protocol", "instrument", "courses", "responders", "response_rate", "remitters", "remission_rate",
                 "response_criterion", "remission_criterion"),
    "maintenance": ("protocol", "doses", "inside", "early", "late", "adherence"),
}


def build(name: str, w: reports.Window, by: str = "day") -> dict:
    """The report ``name`` over ``w`` as the API answers it (also used by the Reports page)."""
    body: dict = {"report": name, "clinic_id": w.clinic_id, "start": w.first.isoformat(), "end": w.last.isoformat()}
    if name == "utilization":
        body["by"] = by
        body["rows"] = reports.utilization(w, by=by)
    elif name == "funnel":
        body["rows"], body["median_days_evaluation_to_first_dose"] = reports.funnel(w)
    else:
        body["rows"] = getattr(reports, name)(w)
    return body


def to_csv(name: str, body: dict) -> str:
    columns = list(COLUMNS[name])
    if name == "utilization" and body.get("by") == "week":
        columns[columns.index("date")] = "week"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(body["rows"])
    return out.getvalue()


def _answer(name: str):
    fmt = request.args.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise ValidationError("format must be json or csv.", field="format")
    by = request.args.get("by") or "day"
    if by not in ("day", "week"):
        raise ValidationError("by must be day or week.", field="by")
    w = reports.window(p.query_int("clinic_id", required=True), p.query_date("start"), p.query_date("end"))
    body = build(name, w, by)
    if fmt == "csv":
        filename = f"{name}-clinic{w.clinic_id}-{w.first}-{w.last}.csv"
        return Response(to_csv(name, body), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return body


def _route(name: str) -> None:
    def view():
        return _answer(name)

    view.__name__ = f"report_{name}"
    bp.add_url_rule(f"/reports/{name}", endpoint=view.__name__, view_func=require("read_reports")(view),
                    methods=["GET"])


for _name in COLUMNS:
    _route(_name)
