# Two entry points for a fresh machine (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: demo test venv browser-deps bench-quick clean

$(BIN)/scheduler: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

venv: $(BIN)/scheduler

# Sets everything up and runs the product on SQLite (instance/scheduler.sqlite3) with demo data.
demo: venv
	$(BIN)/scheduler init-db
	$(BIN)/scheduler demo
	$(BIN)/scheduler serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded by Playwright).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Sets everything up and runs the whole suite: the benchmarks' quick mode (so the scripts cannot rot),
# then unit, integration (SQLite + PostgreSQL), HTTP and browser tests.
test: venv browser-deps bench-quick
	$(BIN)/pytest

bench-quick: venv
	@if [ -f bench/run.py ]; then $(BIN)/python -m bench.run --quick; fi

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis test-artifacts
