# Set-up and entry points. Every target creates the environment it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The instance (run history, event log, schedules) lives in .dagster/ of this checkout.
export DAGSTER_HOME := $(CURDIR)
export INGEST_FLOWS_DIR := $(CURDIR)/flows

.PHONY: install demo test lint ui clean bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(BIN)/python -m ingest_assets.demo.run

# The linter and the strict type checker first: a few seconds, and they fail before the suite starts.
lint: install
	$(BIN)/ruff check ingest_assets ingest_assets_tests benchmarks
	$(BIN)/mypy

test: lint
	.ci/system-packages
	$(BIN)/python -m pytest

ui: install
	$(BIN)/python -m ingest_assets.defs.pools
	$(BIN)/dagster-webserver -w workspace.yaml -h 127.0.0.1 -p 3000

bench: install
	$(BIN)/pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf .dagster data benchmarks/.work
