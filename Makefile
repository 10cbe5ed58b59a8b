# bantin: `make run` sets everything up and runs the bot; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run console demo test lint bench clean lock

# Installs are pinned and never resolve: requirements*.lock hold exact versions with hashes,
# generated from pyproject.toml by `make lock` (uv). deploy/install-lock brings pip to the
# lock's version, installs the lock with --no-deps --require-hashes and runs pip check. The
# project itself is installed without dependencies and without build isolation, so nothing
# unpinned is downloaded.
LOCK   := requirements.lock
TLOCK  := requirements-test.lock
UV_VERSION := 0.13.9
COMPILE = $(VENV)/uv/bin/uv pip compile pyproject.toml - --generate-hashes --universal \
	--python-version 3.11 --quiet --no-header

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(LOCK) | $(BIN)/python
	deploy/install-lock $(BIN)/python $(LOCK)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(TSTAMP): $(TLOCK) | $(BIN)/python
	deploy/install-lock $(BIN)/python $(TLOCK)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@ $(STAMP)

# Refresh both lock files after a change of pyproject.toml (needs the package index).
lock:
	test -x $(VENV)/uv/bin/uv || ($(PYTHON) -m venv $(VENV)/uv && $(VENV)/uv/bin/pip install -q uv==$(UV_VERSION))
	printf 'pip\nsetuptools\nwheel\n' | $(COMPILE) -o $(LOCK)
	printf 'pip\nsetuptools\nwheel\n' | $(COMPILE) --extra test -o $(TLOCK)

# With a TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN (environment or .env): the bot. Without one: the
# offline demo in the console chat, which needs no token and no internet. DEMO_ARGS reach the
# demo (.ci/run proves this path with DEMO_ARGS="--duration 25 --speed 20").
run: $(STAMP)
	@if [ -n "$$TELEGRAM_BOT_TOKEN$$ZALO_BOT_TOKEN" ] || grep -qsE '^(TELEGRAM|ZALO)_BOT_TOKEN=.+' .env; then \
		$(BIN)/python run_bot.py run; \
	else \
		echo "No TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN set: starting the offline demo (make console: real sources, console chat)."; \
		$(BIN)/python run_bot.py demo $(DEMO_ARGS); \
	fi

console: $(STAMP)
	$(BIN)/python run_bot.py run

demo: $(STAMP)
	$(BIN)/python run_bot.py demo

# The suite runs twice: on PostgreSQL (BANTIN_TEST_PG_URL, default 127.0.0.1:5432/test; only
# the tests that touch the database; skipped with the reason where none answers), then on SQLite.
test: $(TSTAMP) lint
	BANTIN_TEST_DB=postgresql $(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q

lint: $(TSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy feeds storage bot

bench: $(STAMP)
	$(BIN)/python bench/poll.py

clean:
	rm -rf $(VENV) .pytest_cache
