"""The `scheduler` command as an operator runs it: init-db, user add, demo, serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

SCHEDULER = str(Path(sys.executable).with_name("scheduler"))


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SCHEDULER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env.pop("SCHEDULER_CONFIG", None)
    # production mode without a key: init-db, demo and user add work in any mode; only serving needs one
    env["SCHEDULER_ENV"] = "production"
    env.pop("SCHEDULER_SECRET_KEY", None)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([SCHEDULER, *args], env=env, capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_init_db_demo_user_add_and_serve(tmp_path):
    env = _env(tmp_path)
    init = _run(["init-db"], env)
    assert init.returncode == 0, init.stderr
    assert "cli.sqlite3" in init.stdout
    demo = _run(["demo"], env)
    assert demo.returncode == 0, demo.stderr
    again = _run(["demo"], env)
    assert again.returncode == 0 and "already" in again.stdout.lower()

    added = _run(["user", "add", "desk@clinic.test", "--role", "front_desk"], env)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert len(token) >= 40
    duplicate = _run(["user", "add", "desk@clinic.test", "--role", "front_desk"], env)
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    bad_role = _run(["user", "add", "x@clinic.test", "--role", "janitor"], env)
    assert bad_role.returncode != 0

    # outside development `serve` needs a real key: one line naming the setting, no traceback
    production = env
    refused = _run(["serve", "--port", str(_free_port())], production)
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0 and "SECRET_KEY is not set" in refused.stderr, refused.stderr
    weak = _run(["serve", "--port", str(_free_port())], {**production, "SCHEDULER_SECRET_KEY": "change-me"})
    assert weak.returncode == 1 and "SECRET_KEY is a known development value" in weak.stderr

    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**env, "SCHEDULER_ENV": "development"}
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [SCHEDULER, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(300):
            try:
                status, health = _get(f"{base}/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start: " + log.read_text())
        assert status == 200 and health["database"] == "sqlite"
        assert "cli.sqlite3" not in json.dumps(health)
        status, _ = _get(f"{base}/clinics")
        assert status == 401
        status, clinics = _get(f"{base}/clinics", token)
        assert status == 200 and len(clinics["clinics"]) == 1
        status, patients = _get(f"{base}/patients?q=demo", token)  # every demo MRN begins DEMO-
        assert status == 200 and len(patients["patients"]) >= 30
        status, recent = _get(f"{base}/patients", token)  # no query: the patients seen recently
        assert status == 200 and 0 < len(recent["patients"]) < len(patients["patients"])
    finally:
        server.terminate()
        server.wait(10)
