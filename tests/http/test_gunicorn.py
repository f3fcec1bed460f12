"""The README's production command: gunicorn with gunicorn.conf.py (threaded workers, request-line
limits, the secret-key check before any worker boots), against a real migrated database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(url: str, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEDULER_")}
    return {
        **env,
        "SCHEDULER_DATABASE_URL": url,
        "SCHEDULER_ENV": "production",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
        **extra,
    }


def test_gunicorn_refuses_to_start_without_a_real_key(sqlite_url):
    done = subprocess.run(
        [GUNICORN, "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{_free_port()}"],
        cwd=ROOT,
        env=_env(sqlite_url, SCHEDULER_SECRET_KEY="change-me"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    refusal = [line for line in done.stderr.splitlines() if "refusing to start" in line]
    assert len(refusal) == 1 and "SECRET_KEY is a known development value" in refusal[0]
    assert "Traceback" not in done.stderr and "Booting worker" not in done.stderr


@pytest.mark.slow
def test_gunicorn_serves_with_threaded_workers_and_limits(sqlite_url, tmp_path):
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [GUNICORN, "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=_env(sqlite_url, SCHEDULER_SECRET_KEY="s" * 48),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(base + "/api/v1/health", timeout=5) as answer:
                    assert answer.status == 200
                    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start: " + log.read_text())
        with pytest.raises(urllib.error.HTTPError) as too_long:  # over limit_request_line, before the app
            urllib.request.urlopen(base + "/api/v1/patients?q=" + "x" * 5000, timeout=5)
        assert too_long.value.code == 414 and b"Request Line is too large" in too_long.value.read()
        assert "Using worker: gthread" in log.read_text()
    finally:
        server.terminate()
        server.wait(20)
