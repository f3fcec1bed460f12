"""The npm validators of tests/js (ical.js; HL7's FHIR R4 JSON schema), installed by ``make js-deps``
(part of ``make test`` and ``make venv``), never downloaded at run time. When they are missing the
tests that need them are skipped locally and fail under CI (``CI=true``), like PostgreSQL's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent.parent / "js"
MODULES = JS_DIR / "node_modules"
FHIR_SCHEMA = MODULES / "@medplum" / "definitions" / "dist" / "fhir" / "r4" / "fhir.schema.json"  # HL7 4.0.1
REQUIRED = os.environ.get("CI", "").lower() == "true"


def need(path: Path) -> Path:
    if shutil.which("node") is None or not path.exists():
        message = f"{path} missing (run `make js-deps`: npm packages of tests/js/package.json)"
        if REQUIRED:
            pytest.fail(message + " (required under CI)")
        pytest.skip(message)
    return path


def ical_js_events(ics: bytes) -> list[dict]:
    """The feed's events as ical.js reads them (tests/js/ical_events.mjs)."""
    need(MODULES / "ical.js")
    done = subprocess.run(
        ["node", str(JS_DIR / "ical_events.mjs")], input=ics, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)
