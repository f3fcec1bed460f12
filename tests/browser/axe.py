"""axe-core in the browser tests: the npm package installed by the test set-up (``make js-deps``,
tests/js/package.json), injected into each page from the local file — never fetched from a CDN."""

from __future__ import annotations

import os
from functools import lru_cache

import pytest

from tests.browser.harness import ROOT

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@lru_cache(maxsize=1)
def source() -> str:
    if not AXE.exists():
        message = f"{AXE.relative_to(ROOT)} is missing: run `make js-deps` (npm ci in tests/js)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text()


def violations(page) -> list[dict]:
    """The page's serious and critical axe violations: rule, impact, help and the first nodes."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source())
    found = page.evaluate("async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
            "count": len(v["nodes"]),
        }
        for v in found
        if v["impact"] in BLOCKING
    ]
