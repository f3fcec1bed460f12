"""``scheduler import`` and ``scheduler export``: onboarding a clinic and taking its data out.

Exit status 0 when the file is taken (or, with ``--dry-run``, would be), 1 when it is refused;
every problem is printed as ``line N, column C: ...``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from scheduler.db import transaction


@click.group("import")
def import_group() -> None:
    """Import patients or sessions from CSV, or restore a whole export (see README, Onboarding)."""


def _csv_command(kind: str):
    @import_group.command(kind)
    @click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
    @click.option("--template", is_flag=True, help="Print the CSV header of the template and exit.")
    @click.option(
        "--map",
        "mapping",
        multiple=True,
        metavar="COLUMN=THEIRS",
        help="Read a template column from the file's column THEIRS (repeatable).",
    )
    @with_appcontext
    def command(file: Path | None, dry_run: bool, template: bool, mapping: tuple[str, ...]) -> None:
        from scheduler.domain.imports import CellError, parse_mapping
        from scheduler.domain.imports import template as header
        from scheduler.services import imports

        if template:
            click.echo(header(kind))
            return
        if file is None:
            raise click.UsageError("FILE is required (or --template).")
        try:
            columns = parse_mapping(list(mapping))
        except CellError as exc:
            raise click.BadParameter(str(exc), param_hint="--map") from None
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise click.ClickException(f"{file}: {exc.strerror}") from None
        from scheduler.services import audit

        with transaction(), audit.acting_as("cli"):
            report = imports.run(None, kind, data, dry_run=dry_run, mapping=columns, source=file.name)
        for problem in report.problems:
            click.echo(str(problem), err=problem.severity == "error")
        click.echo(report.summary())
        sys.exit(1 if report.refused else 0)

    command.__doc__ = f"Import {kind} from a CSV FILE (columns: scheduler import {kind} --template)."
    return command


_csv_command("patients")
_csv_command("sessions")


def _dir_opener(folder: Path, mode: str = "w"):
    from contextlib import contextmanager

    @contextmanager
    def opener(name: str):
        with open(folder / name, mode, encoding="utf-8", newline="") as f:
            yield f

    return opener


@import_group.command("all")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@with_appcontext
def import_all_command(folder: Path) -> None:
    """Restore a jsonl export (scheduler export --format jsonl) into the empty database init-db just created."""
    from scheduler.services import audit, exports

    try:
        with transaction(), audit.acting_as("cli"):
            counts = exports.restore(_dir_opener(folder, "r"), lambda name: (folder / name).is_file())
    except exports.RestoreError as exc:
        click.echo(f"{folder}: {exc} Nothing was written.", err=True)
        sys.exit(1)
    click.echo(f"Restored {sum(counts.values())} rows: " + ", ".join(f"{n} {t}" for t, n in counts.items()))


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "fhir"]), default="jsonl", show_default=True)
@click.option(
    "--out",
    "folder",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory to write (created; must be empty).",
)
@with_appcontext
def export_command(fmt: str, folder: Path) -> None:
    """Export everything: one file per table (jsonl, csv) or per FHIR resource type (Bulk Data NDJSON).

    The command's export is an operator's full backup: clinical content and password hashes included
    (never API tokens); keep it like the database itself."""
    from scheduler.services import audit, exports

    if folder.exists() and any(folder.iterdir()):
        raise click.ClickException(f"{folder} is not empty; export into a new directory.")
    folder.mkdir(parents=True, exist_ok=True)
    opener = _dir_opener(folder)
    with transaction(), audit.acting_as("cli"):
        if fmt == "fhir":
            from scheduler.fhir import bulk

            manifest = bulk.export(opener, clinical=True)
            counts = {o["type"]: o["count"] for o in manifest["output"]}
        else:
            counts = exports.export(opener, fmt, clinical=True, secrets=True)["tables"]
        audit.record_operation(
            None, "data.export", "export", after={"format": fmt, "clinical": True, "counts": counts, "via": "cli"}
        )
    click.echo(f"Wrote {fmt} to {folder}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))


def init_app(app: Flask) -> None:
    app.cli.add_command(import_group)
    app.cli.add_command(export_command)
