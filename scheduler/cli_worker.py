"""``scheduler worker``: delivers the outbox (reminders, confirmations, cancellation notices and
waitlist offers). ``--once`` sends what is due and exits (cron, tests); without it the worker keeps
running, a round every ``WORKER_INTERVAL_SECONDS``. Several workers may run at once."""

from __future__ import annotations

import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--interval",
    type=click.IntRange(1, 3600),
    default=None,
    help="Seconds between rounds (default: the WORKER_INTERVAL_SECONDS setting).",
)
@click.option(
    "--batch", type=click.IntRange(1, 1000), default=50, show_default=True, help="Messages claimed per round."
)
@with_appcontext
def worker_command(once: bool, interval: int | None, batch: int) -> None:
    """Deliver due messages by email (SMTP) and SMS."""
    from scheduler.config import require_real_secret_key
    from scheduler.db import db_session
    from scheduler.services.delivery import run_once

    require_real_secret_key(current_app)  # the links in messages are signed with it
    if not current_app.config.get("SMTP_HOST"):
        raise click.ClickException("SMTP_HOST is not set: the worker cannot send email (see config.example.toml).")
    pause = interval or int(current_app.config.get("WORKER_INTERVAL_SECONDS", 30))
    stop = threading.Event()
    if not once:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    while True:
        result = run_once(limit=batch)
        db_session.remove()
        if once or result.sent or result.failed or result.retried:
            click.echo(
                f"sent {result.sent}, retried {result.retried}, failed {result.failed}, withdrawn {result.withdrawn}"
            )
        if once or stop.wait(0 if len(result.ids) >= batch else pause):
            break


def init_app(app: Flask) -> None:
    app.cli.add_command(worker_command)
