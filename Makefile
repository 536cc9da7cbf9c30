# make run: a server on SQLite in ./data, with a first account and token printed.
# make test: lint, type check and the whole test suite (PostgreSQL tests skip if none is reachable).
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

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
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

check: test

bench: install
	$(BIN)/python bench/send.py
	$(BIN)/python bench/search.py
