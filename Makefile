# Two entry points for a fresh machine (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: demo test lint format-diff venv browser-deps js-deps bench-quick clean

$(BIN)/scheduler: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

venv: $(BIN)/scheduler

# Sets everything up and runs the product on SQLite (instance/scheduler.sqlite3) with demo data, in
# development mode (the development SECRET_KEY, cookies over plain http).
demo: venv
	SCHEDULER_ENV=development $(BIN)/scheduler init-db
	SCHEDULER_ENV=development $(BIN)/scheduler demo
	SCHEDULER_ENV=development $(BIN)/scheduler serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded by Playwright).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The npm validators the tests use (tests/js/package.json: ical.js; HL7's FHIR R4 JSON schema), from the
# npm registry by the lock file; never downloaded while the tests run.
JS := tests/js
$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --silent
	touch $@

js-deps: $(JS)/node_modules/.installed

# Sets everything up and runs the whole suite: lint and types, the benchmarks' quick mode (so the scripts
# cannot rot), then unit, integration (SQLite + PostgreSQL), HTTP and browser tests.
test: venv browser-deps js-deps lint bench-quick
	$(BIN)/pytest

# ruff's rules and mypy (settings in pyproject.toml); a few seconds once mypy's cache is warm.
lint: venv
	$(BIN)/ruff check scheduler tests bench
	$(BIN)/ruff format --check scheduler tests bench
	$(BIN)/mypy

# How many lines `ruff format` would change (make lint fails on any; see README, Development).
format-diff: venv
	@$(BIN)/ruff format --diff scheduler tests bench 2>/dev/null | grep -c '^[-+][^-+]' || true

bench-quick: venv
	@if [ -f bench/run.py ]; then $(BIN)/python -m bench.run --quick; fi

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis test-artifacts .mypy_cache .ruff_cache build dist
