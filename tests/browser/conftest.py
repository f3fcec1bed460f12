"""Fixtures for the browser tests: one Chromium for the package and one ``scheduler demo``
database built for the run;
each module gets its own copy of the database and its own real server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser import harness


def _chromium_or_fail() -> None:
    if not Path(harness.CHROMIUM).exists():
        message = f"{harness.CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> Path:
    """``scheduler init-db`` and ``scheduler demo`` once for the run: the file each module copies."""
    _chromium_or_fail()
    url = harness.build_demo_database(tmp_path_factory.mktemp("browser-template"))
    return Path(url.removeprefix("sqlite:///"))


@pytest.fixture(scope="module")
def demo_url(_demo_template, tmp_path_factory) -> str:
    """The module's own demo database (a copy of the run's), for tests that also write to it directly."""
    target = tmp_path_factory.mktemp("browser") / _demo_template.name
    for suffix in ("", "-wal", "-shm"):  # the CLI closed it (checkpointed); copied whole all the same
        source = _demo_template.with_name(_demo_template.name + suffix)
        if source.exists():
            shutil.copyfile(source, target.with_name(target.name + suffix))
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def base_url(demo_url):
    with harness.live_server(demo_url) as base:
        yield base


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests; each test opens its own context (cookies, storage) in it."""
    _chromium_or_fail()
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
