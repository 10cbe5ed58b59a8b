# bantin: `make run` sets everything up and runs the bot; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run console demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(STAMP)

# With a TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN (environment or .env): the bot. Without one: the
# offline demo in the console chat, which needs no token and no internet.
run: $(STAMP)
	@if [ -n "$$TELEGRAM_BOT_TOKEN$$ZALO_BOT_TOKEN" ] || grep -qsE '^(TELEGRAM|ZALO)_BOT_TOKEN=.+' .env; then \
		$(BIN)/python run_bot.py run; \
	else \
		echo "No TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN set: starting the offline demo (make console: real sources, console chat)."; \
		$(BIN)/python run_bot.py demo; \
	fi

console: $(STAMP)
	$(BIN)/python run_bot.py run

demo: $(STAMP)
	$(BIN)/python run_bot.py demo

# The suite runs twice: on PostgreSQL (BANTIN_TEST_PG_URL, default 127.0.0.1:5432/test; only
# the tests that touch the database; skipped with the reason where none answers), then on SQLite.
test: $(TSTAMP)
	BANTIN_TEST_DB=postgresql $(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q

lint: $(TSTAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy feeds storage bot

bench: $(STAMP)
	$(BIN)/python bench/poll.py

clean:
	rm -rf $(VENV) .pytest_cache
