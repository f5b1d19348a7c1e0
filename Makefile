# StreamKeeper. `make run` starts everything; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run bot web migrate health demo test test-loaded test-fast fuzz lint format bench services clean help screenshots

help:
	@echo "make run      create .venv, install, migrate, start everything (web + bot) on 127.0.0.1:8080"
	@echo "make test     install test needs (and PostgreSQL/Redis servers if missing), run all tests"
	@echo "make test-loaded  make test while busy processes (twice the cores) load the machine"
	@echo "make test-fast  the edit loop: SQLite only, no servers, no browser (a few minutes less)"
	@echo "make demo     play a scripted stream (Kick, then Twitch) through real signed webhooks"
	@echo "make demo DASHBOARD=1  leave the dashboard up on 127.0.0.1 with a seeded server and a demo sign-in (no Discord); PORT=8090 for another port"
	@echo "make bench    measure webhook throughput, watchtime tick duration, a full interval for 10,000 guilds (1 and 2 bot processes), the raffle (PostgreSQL + Redis), the embedded default (core run + SQLite) and webhooks with 100 live dashboards open"
	@echo "make fuzz     hostile input: >= 100,000 hypothesis examples per target, counts by outcome"
	@echo "make lint     ruff check and format check"
	@echo "make screenshots  refresh docs/screenshots/: every page (desktop, 360 px) and the walk from make run to a set-up server"

# A venv that failed half-way (Debian or Ubuntu without python3-venv leaves bin/python and no
# pip) is removed, so the next make builds it again instead of failing on a missing pip.
$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("StreamKeeper needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP) $@

run: $(STAMP)
	$(BIN)/python -m core run

bot: $(STAMP)
	$(BIN)/python -m core bot

web: $(STAMP)
	$(BIN)/python -m core web

migrate: $(STAMP)
	$(BIN)/python -m core migrate

health: $(STAMP)
	$(BIN)/python -m core health

demo: $(STAMP)
	$(BIN)/python -m core demo $(if $(DASHBOARD),--dashboard $(if $(PORT),--port $(PORT)))

# PostgreSQL and Redis servers for the tests (started by the tests themselves, on 127.0.0.1).
services:
	@bash scripts/install-test-services.sh

# Tests run in parallel with pytest-xdist, two workers per core: much of a test's time is spent
# waiting (subprocesses, sockets, servers, the real-time runs' ticks); an idle worker takes
# queued tests from a busy one (worksteal); tests/support/order.py orders them for it. TEST_WORKERS=N
# for another count, 0 for none. Each worker starts its own PostgreSQL and Redis and migrates one
# template database per backend.
TEST_WORKERS ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 1) )))

# A machine that sets PYTHONDONTWRITEBYTECODE makes every worker and every process a test starts
# compile (and pytest rewrite) its modules from source again: ~6 s of CPU per worker. The test
# runs keep their bytecode caches (in the __pycache__ folders git ignores).
test test-loaded test-fast: export PYTHONDONTWRITEBYTECODE :=

# The 40 slowest tests are listed at the end: where to look when the run grows past its 8 minutes.
test: $(DEV_STAMP) services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=40

# make test on a busy machine, as a shared developer machine or CI runner is: LOAD_PROCESSES
# busy processes (twice the cores) run beside the suite. They end with it, pass or fail (killed
# by their PID), or by themselves after LOAD_SECONDS; the suite's exit code is the target's.
LOAD_PROCESSES ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 1) )))
LOAD_SECONDS ?= 3600
test-loaded: $(DEV_STAMP) services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/cpu_burner.py --processes $(LOAD_PROCESSES) --seconds $(LOAD_SECONDS) & \
	burner=$$!; \
	trap 'kill $$burner 2>/dev/null; wait $$burner 2>/dev/null' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	status=0; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=40 || status=$$?; \
	exit $$status

# The edit loop: SQLite only; the tests that need PostgreSQL, Redis or Chromium, or start
# processes of their own (marked slow), are skipped. make test runs them all.
test-fast: $(DEV_STAMP)
	TEST_FAST=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -q -m "not slow"

# The fuzz suite at full strength (make test runs it with a few examples per target). Long: it
# prints progress, and the counts by outcome at the end. FUZZ_EXAMPLES=N sets another count.
fuzz: $(DEV_STAMP) services
	FUZZ_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -p no:cacheprovider -q

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEV_STAMP) services
	$(BIN)/python -m benchmarks

screenshots: $(DEV_STAMP)
	mkdir -p docs/screenshots
	SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest -p no:cacheprovider -q \
		tests/web/browser/test_every_page.py::test_no_page_scrolls_sideways_or_fails_axe \
		tests/web/browser/test_walk_to_a_configured_guild.py tests/web/browser/test_overlays_live.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
