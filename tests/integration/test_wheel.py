"""The package as a deployment gets it: the wheel built from the sources, installed (not editable) into a
fresh virtual environment, ``scheduler init-db`` on SQLite and on PostgreSQL, then ``scheduler serve``
answering ``/api/v1/health``. Catches files the wheel leaves out (migrations, templates, protocols).

The fresh environment borrows the test environment's third-party packages through a ``.pth`` line (no
download, a few seconds); the scheduler package itself comes only from the wheel, which the test checks."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "scheduler")


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A venv holding the scheduler only as installed from its wheel."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:  # a copy: building writes build/ and *.egg-info next to the sources
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(
            ROOT / name,
            src / name,
            **({"ignore": shutil.ignore_patterns("__pycache__")} if (ROOT / name).is_dir() else {}),
        )
    dist = base / "dist"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        dist,
        src,
    )
    (wheel,) = dist.glob("scheduler-*.whl")
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEDULER_", "PYTHON"))}
    return {**env, "SCHEDULER_DATABASE_URL": url, "SCHEDULER_ENV": "production", "SCHEDULER_SECRET_KEY": "w" * 48}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_scheduler_runs_from_its_wheel_alone(fresh_venv, tmp_path):
    where = _run(fresh_venv / "bin" / "python", "-c", "import scheduler; print(scheduler.__file__)", cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(fresh_venv), where
    assert not Path(where.strip()).is_relative_to(ROOT), where


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_init_db_and_health_from_the_installed_wheel(fresh_venv, tmp_path, request, kind):
    url = (
        f"sqlite:///{tmp_path / 'wheel.sqlite3'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_server").create_database("scheduler_wheel")
    )
    scheduler = fresh_venv / "bin" / "scheduler"
    env = _env(url)
    _run(scheduler, "init-db", env=env, cwd=tmp_path)
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(scheduler), "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        health = None
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as answer:
                    health = json.load(answer)
                    break
            except OSError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.1)
        assert health is not None, f"no answer from the server within 30 s: {log.read_text()}"
        assert health["status"] == "ok"
        assert health["database"] == kind.replace("postgres", "postgresql")
        assert "ketamine-iv" in health["protocols"]  # the protocol files came with the wheel
    finally:
        server.terminate()
        server.wait(timeout=10)
