# bantin: `make run` sets everything up and runs the bot; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(STAMP)

run: $(STAMP)
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

bench: $(STAMP)
	$(BIN)/python bench/poll.py

clean:
	rm -rf $(VENV) .pytest_cache
