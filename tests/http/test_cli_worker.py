"""`scheduler worker` as an operator runs it: refuses without a real key or an SMTP server, and
`--once` delivers what the demo clinic's bookings put in the outbox to a real SMTP server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
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
    again = _run(["worker", "--once"], env)
    assert again.returncode == 0 and "sent 0" in again.stdout
