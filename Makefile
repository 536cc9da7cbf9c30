# make run: a server on SQLite in ./data, with a first account and token printed.
# make test: lint, type check and the whole test suite (PostgreSQL tests skip if none is reachable).
# pytest runs the tests in PYTEST_WORKERS processes at once (pytest-xdist; each takes its own
# databases, see tests/conftest.py); PYTEST_WORKERS=0 runs them one by one in pytest's own.
# --dist loadgroup keeps the tests of one xdist_group (one Kannel, one Jasmin) on one worker.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
PYTEST_WORKERS ?= 3
PYTEST_ARGS ?=

.PHONY: install run test lint format typecheck pytest check bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/simrelay quickstart

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: install
	$(BIN)/mypy src

pytest: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test: lint typecheck pytest

check: test

bench: install
	$(BIN)/python bench/send.py
	$(BIN)/python bench/search.py
