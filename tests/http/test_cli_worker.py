"""`scheduler worker` as an operator runs it: refuses without a real key or an SMTP server, and
`--once` delivers what the demo clinic's bookings put in the outbox to a real SMTP server."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.messaging import smtp_server  # noqa: F401 - fixture

SCHEDULER = str(Path(sys.executable).with_name("scheduler"))


def _run(args, env):
    return subprocess.run([SCHEDULER, *args], env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_worker_once_delivers_the_demo_outbox_and_refuses_unsafe_settings(tmp_path, smtp_server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEDULER_")}
    env.update(SCHEDULER_DATABASE_URL=f"sqlite:///{tmp_path / 'worker.sqlite3'}", SCHEDULER_ENV="production")
    assert _run(["init-db"], env).returncode == 0
    assert _run(["demo"], env).returncode == 0
    no_key = _run(["worker", "--once"], env)
    assert no_key.returncode != 0 and "SECRET_KEY" in no_key.stderr
    env["SCHEDULER_SECRET_KEY"] = "k" * 48
    no_smtp = _run(["worker", "--once"], env)
    assert no_smtp.returncode == 1 and "SMTP_HOST is not set" in no_smtp.stderr
    env.update(
        SCHEDULER_SMTP_HOST="127.0.0.1",
        SCHEDULER_SMTP_PORT=str(smtp_server.port),
        SCHEDULER_PUBLIC_URL="https://clinic.example.test",
    )
    once = _run(["worker", "--once", "--batch", "500"], env)
    assert once.returncode == 0, once.stderr
    sent = int(re.search(r"sent (\d+)", once.stdout).group(1))
    assert sent == len(smtp_server.messages) > 0
    assert all(
        "https://clinic.example.test/p/" in m.get_body(("plain",)).get_content()
        for m in smtp_server.messages
        if m["Subject"].startswith(("Reminder", "Booked"))
    )
    # Run again: nothing delivered is delivered twice. A reminder may fall due between the two runs (the
    # demo is built around the real clock), so the second run may send that one; every message the SMTP
    # server received is still one message row marked sent.
    again = _run(["worker", "--once"], env)
    assert again.returncode == 0, again.stderr
    sent_again = int(re.search(r"sent (\d+)", again.stdout).group(1))
    assert sent + sent_again == len(smtp_server.messages) == _rows_sent(tmp_path / "worker.sqlite3")


def _rows_sent(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*) FROM message WHERE status = 'sent'").fetchone()[0]
