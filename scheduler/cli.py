"""The ``scheduler`` command: init-db, demo, serve, user add (Flask CLI commands on the app)."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import make_url

from scheduler.db import db_session, transaction
from scheduler.domain.vocabulary import USER_ROLES


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema to the newest migration."""
    from scheduler.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    url = make_url(current_app.config["DATABASE_URL"])
    click.echo(f"Database at head: {url.render_as_string(hide_password=True)}")


@click.group("user")
def user_group() -> None:
    """Manage users and their API tokens."""


@user_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(USER_ROLES), required=True)
@click.option("--password", default=None, help="Also allow page sign-in with this password.")
@click.option("--staff-member-id", type=int, default=None, help="Link a clinician to their staff record.")
@click.option(
    "--clinic",
    "clinic_ids",
    type=int,
    multiple=True,
    help="Limit the user to this clinic id (repeat for several; none: every clinic).",
)
@with_appcontext
def user_add_command(
    email: str, role: str, password: str | None, staff_member_id: int | None, clinic_ids: tuple[int, ...] = ()
) -> None:
    """Create a user and print a new API token on the last line (both audited, actor "cli")."""
    from scheduler.errors import Conflict
    from scheduler.services import accounts, audit

    with transaction(), audit.acting_as("cli"):
        try:
            user = accounts.create_user(
                None,
                email=email,
                role=role,
                password=password,
                staff_member_id=staff_member_id,
                clinic_ids=_clinic_ids(clinic_ids),
            )
        except Conflict as exc:
            raise click.ClickException(exc.message) from None
        _row, token = accounts.create_token(None, user, label="cli")
    click.echo(f"Created {role} {email} (id {user.id}). API token:")
    click.echo(token)


def _clinic_ids(clinic_ids: tuple[int, ...]) -> list[int]:
    """The ``--clinic`` ids, each an existing clinic (none: every clinic)."""
    from sqlalchemy import select

    from scheduler.models import Clinic

    known = set(db_session.scalars(select(Clinic.id).where(Clinic.id.in_(clinic_ids)))) if clinic_ids else set()
    missing = sorted(set(clinic_ids) - known)
    if missing:
        raise click.ClickException(f"No clinic with id {missing[0]} (see GET /api/v1/clinics).")
    return sorted(set(clinic_ids))


@click.command("demo")
@click.option("--today", default=None, help="Build the demo around this date (YYYY-MM-DD).")
@with_appcontext
def demo_command(today: str | None) -> None:
    """Load a realistic demo clinic (idempotent: does nothing when the demo clinic exists)."""
    from datetime import date

    from scheduler.demo import load_demo
    from scheduler.services import audit

    with transaction(), audit.acting_as("cli"):
        summary = load_demo(date.fromisoformat(today) if today else None)
    click.echo(summary)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Run the development server (use gunicorn in production; see README)."""
    from werkzeug.serving import run_simple

    from scheduler.config import require_real_secret_key

    require_real_secret_key(current_app)
    click.echo(f"Serving on http://{host}:{port}/ (development server; use gunicorn in production)")
    run_simple(
        host,
        port,
        current_app._get_current_object(),  # type: ignore[attr-defined]  # the app behind the proxy
        use_reloader=False,
        threaded=True,
    )


def init_app(app: Flask) -> None:
    for command in (init_db_command, user_group, demo_command, serve_command):
        app.cli.add_command(command)
    from scheduler import cli_data, cli_worker

    cli_data.init_app(app)
    cli_worker.init_app(app)


def _factory() -> Flask:
    from scheduler import create_app

    return create_app(require_secret=False)  # `serve` checks the key before serving


@click.group(
    cls=FlaskGroup, create_app=_factory, add_default_commands=False, add_version_option=False, load_dotenv=False
)
def cli() -> None:
    """scheduler: treatment-session scheduling for interventional-psychiatry clinics."""


def main() -> None:
    cli.main(args=sys.argv[1:], prog_name="scheduler")
