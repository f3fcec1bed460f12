"""The clinic manager's pages: Reports (admins and clinicians) and Import (admins).

Reports show each report as an SVG chart with the same numbers in a table beside it, and a CSV
download; Import uploads a CSV file of patients or sessions (dry run first by default) and lists
every problem as ``line N, column C: ...``. Both call the services the API calls.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, g, render_template, request

from scheduler.domain.imports import TEMPLATES, CellError, parse_mapping, template
from scheduler.errors import AppError
from scheduler.services import imports, reports
from scheduler.web import report_charts, security
from scheduler.web.context import clinics, current_clinic, date_arg, today

bp = Blueprint("oversight", __name__)
security.protect(bp)
MAX_UPLOAD = 20 * 1024 * 1024


def _window(clinic):
    last, problem_end = date_arg("end", today(clinic.timezone))
    first, problem_start = date_arg("start", last - timedelta(days=364))
    problems = [p for p in (problem_start, problem_end) if p]
    try:
        return reports.window(clinic.id, first, last), problems
    except AppError as exc:
        problems.append(exc.message + " Showing the last year instead.")
        return reports.window(clinic.id, None, None), problems


def _charts(data: dict) -> dict:
    util, att, fun, out, mnt = (data[k]["rows"] for k in reports.COLUMNS)
    kinds = [r for r in att if r["dimension"] == "kind"]
    return {
        "utilization": report_charts.heatmap(util, chart_id="util", title="Chair utilisation per room and week"),
        "attendance": report_charts.bars(
            [
                (
                    r["value"].replace("_", " "),
                    [("No-show rate", r["no_show_rate"]), ("Late-cancel rate", r["late_cancel_rate"])],
                )
                for r in kinds
            ],
            chart_id="att",
            title="No-show and late-cancel rates by kind of session",
        ),
        "funnel": report_charts.bars(
            [(r["label"], [("Courses", r["courses"])]) for r in fun],
            chart_id="fun",
            title="Course funnel",
            percent=False,
        ),
        "outcomes": report_charts.bars(
            [
                (
                    f"{r['protocol']} · {r['instrument']}",
                    [("Response", r["response_rate"]), ("Remission", r["remission_rate"])],
                )
                for r in out
            ],
            chart_id="out",
            title="Response and remission rates",
            maximum=1,
        ),
        "maintenance": report_charts.bars(
            [(r["protocol"], [("Inside the window", r["adherence"])]) for r in mnt],
            chart_id="mnt",
            title="Maintenance doses inside their due window",
            maximum=1,
        ),
    }


@bp.get("/reports")
@security.page("read_reports")
def reports_page():
    clinic = current_clinic()
    if clinic is None:
        return render_template("oversight/reports.html", clinic=None, clinics=[], problems=[])
    w, problems = _window(clinic)
    data = {name: reports.build(name, w, "week" if name == "utilization" else "day") for name in reports.COLUMNS}
    return render_template(
        "oversight/reports.html",
        clinic=clinic,
        clinics=clinics(),
        w=w,
        data=data,
        charts=_charts(data),
        problems=problems,
        columns=reports.COLUMNS,
    )


@bp.get("/reports/<name>.csv")
@security.page("read_reports")
def report_csv(name: str):
    clinic = current_clinic()
    if name not in reports.COLUMNS or clinic is None:
        return render_template("error.html", status=404, title="Not found", message="No such report."), 404
    w, _ = _window(clinic)
    by = "week" if request.args.get("by") == "week" else "day"
    body = reports.build(name, w, by)
    return Response(
        reports.to_csv(name, body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{w.first}-{w.last}.csv"'},
    )


@bp.route("/admin/import", methods=["GET", "POST"])
@security.page("import_data")
def import_page():
    form = request.form if request.method == "POST" else {"kind": "patients", "dry_run": "on"}
    report, errors = None, {}
    if request.method == "POST":
        kind = form.get("kind", "")
        upload = request.files.get("file")
        try:
            mapping = parse_mapping([line for line in (form.get("mapping") or "").splitlines() if line.strip()])
        except CellError as exc:
            mapping, errors["mapping"] = {}, f"Column mapping: {exc}."
        if kind not in TEMPLATES:
            errors["kind"] = "Choose patients or sessions."
        if upload is None or not upload.filename:
            errors["file"] = "Choose the CSV file to import."
        if not errors:
            assert upload is not None  # a missing file is an error above
            data = upload.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                errors["file"] = "The file is larger than 20 MB; split it."
            else:
                report = imports.run(
                    g.user.id,
                    kind,
                    data,
                    dry_run=form.get("dry_run") == "on",
                    mapping=mapping,
                    source=upload.filename or "",
                )
    status = 422 if errors or (report is not None and report.refused) else 200
    return render_template(
        "oversight/import.html", form=form, report=report, errors=errors, templates={k: template(k) for k in TEMPLATES}
    ), status
