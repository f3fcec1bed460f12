"""Fixtures for the browser tests: one demo database and one real server per module."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import harness


def _chromium_or_fail() -> None:
    if not Path(harness.CHROMIUM).exists():
        message = f"{harness.CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    """The module's demo database (SQLite file), for tests that also write to it directly."""
    _chromium_or_fail()
    return harness.build_demo_database(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def base_url(demo_url):
    with harness.live_server(demo_url) as base:
        yield base


@pytest.fixture(scope="module")
def browser(base_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = harness.launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=harness.LAPTOP)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    refused: list[str] = []  # what the Content-Security-Policy blocked (an inline script, a style...)
    pg.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    yield pg
    context.close()
    assert not refused, f"the page broke its Content-Security-Policy: {refused}"


@pytest.fixture
def artifacts() -> Path:
    harness.ARTIFACTS.mkdir(exist_ok=True)
    return harness.ARTIFACTS
