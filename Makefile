# TRAIDER — every entry point a newcomer needs. `make demo` and `make test` build .venv first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
PIP_VERSION := 26.3
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
B ?=

.PHONY: help install demo test lint typecheck unit bench lock db-up db-down clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the locked dependencies into $(VENV) (a few minutes the first time)…"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==$(PIP_VERSION)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(FIND_LINKS) -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP) ## Create .venv from the lock file

demo: $(STAMP) ## Run the main job end to end on the embedded PostgreSQL
	$(BIN)/traider db up
	$(BIN)/traider db migrate
	@echo "No exchange is reachable from this machine: Coinbase is served by the local emulator (recorded payloads)."
	$(BIN)/traider ingest --source coinbase --symbols BTC/USD --since 2019-03-29 --until 2019-03-30 --emulator
	$(BIN)/traider ingest --source sim --symbols BTC/USD,BTC/USD:USD --since 2024-01-01 --until 2024-01-08
	$(BIN)/traider ingest --source sim --symbols BTC/USD:USD --stream funding_rates --since 2024-01-01 --until 2024-01-08
	$(BIN)/traider ingest --source ../shared/data/freqtrade/tests/testdata/XRP_ETH-trades.feather --stream trades --venue binance
	$(BIN)/traider db status

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy (strict) on src/
	$(BIN)/mypy src

unit: $(STAMP) ## pytest only
	$(BIN)/pytest

test: lint typecheck unit ## Everything CI runs: lint, types, the whole test suite

bench: $(STAMP) ## Run every benchmark, or one with B=<name>
	$(BIN)/python -m benchmarks.run $(B)

db-up: $(STAMP) ## Start the embedded PostgreSQL
	$(BIN)/traider db up

db-down: $(STAMP) ## Stop the embedded PostgreSQL
	$(BIN)/traider db down

lock: ## Re-resolve pyproject.toml into requirements.lock (needs the package registry)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet "pip==$(PIP_VERSION)"
	.lock-venv/bin/python -m pip install --quiet $(FIND_LINKS) ".[dev]"
	{ echo "# Exact versions of every package TRAIDER installs; regenerate with 'make lock'."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v -E '^(traider|pip)=='; \
	} > requirements.lock
	rm -rf .lock-venv

clean: ## Remove caches (keeps .venv and .traider)
	rm -rf .mypy_cache .ruff_cache .pytest_cache reports
