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
    @click.option("--map", "mapping", multiple=True, metavar="COLUMN=THEIRS",
                  help="Read a template column from the file's column THEIRS (repeatable).")
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
        with transaction():
            report = imports.run(None, kind, data, dry_run=dry_run, mapping=columns, source=file.name)
        for problem in report.problems:
            click.echo(str(problem), err=problem.severity == "error")
        click.echo(report.summary())
        sys.exit(1 if report.refused else 0)

    command.__doc__ = f"Import {kind} from a CSV FILE (columns: scheduler import {kind} --template)."
    return command


_csv_command("patients")
_csv_command("sessions")


def init_app(app: Flask) -> None:
    app.cli.add_command(import_group)
