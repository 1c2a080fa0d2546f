# TRAIDER — every entry point a newcomer needs. `make demo` and `make test` build .venv first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
PIP_VERSION := 26.3
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
B ?=

.PHONY: help install demo test lint typecheck unit bench lock db-up db-down up down clean

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

demo: $(STAMP) ## Run the main job end to end on the embedded PostgreSQL (real Airflow DAG runs, a summary at the end)
	$(BIN)/traider db up
	$(BIN)/traider db migrate
	$(BIN)/traider demo

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

# `make up` / `make down`: the whole platform on this machine. Background services keep their pid in
# $(RUNDIR)/<name>.pid (each is a session leader, so `down` stops its whole process group) and log to
# $(LOGS)/<name>.log; MLflow and Airflow manage their own pid files (`traider mlflow|airflow up|down`).
STATE := $(or $(TRAIDER_HOME),.traider)
LOGS := $(STATE)/logs
RUNDIR := $(STATE)/run
MLFLOW_PASSWORD_FILE := $(STATE)/secrets/mlflow_admin_password
DASHBOARD_USERS_FILE := $(STATE)/secrets/dashboard_users
DASHBOARD_PORT ?= 8501
WORKER_ARGS ?= --venue binance --symbol BTC/USDT --timeframe 1h --model xgb_direction_btc
# MLflow's admin: MLFLOW_TRACKING_PASSWORD from the environment, else the generated one `make demo` also uses
MLFLOW_ENV = export MLFLOW_TRACKING_USERNAME="$${MLFLOW_TRACKING_USERNAME:-admin}" \
	MLFLOW_TRACKING_PASSWORD="$${MLFLOW_TRACKING_PASSWORD:-$$(cat $(MLFLOW_PASSWORD_FILE) 2>/dev/null)}"
# $(call start_bg,NAME,COMMAND): start COMMAND in a session of its own unless NAME already runs
define start_bg
if [ -f $(RUNDIR)/$(1).pid ] && kill -0 "$$(cat $(RUNDIR)/$(1).pid)" 2>/dev/null; then \
  echo "$(1) already running (pid $$(cat $(RUNDIR)/$(1).pid)); log in $(LOGS)/$(1).log"; \
else \
  setsid nohup $(2) >> $(LOGS)/$(1).log 2>&1 < /dev/null & echo $$! > $(RUNDIR)/$(1).pid; sleep 3; \
  if kill -0 "$$(cat $(RUNDIR)/$(1).pid)" 2>/dev/null; then \
    echo "$(1) started (pid $$(cat $(RUNDIR)/$(1).pid)); log in $(LOGS)/$(1).log"; \
  else echo "$(1) is not running (it exited within 3 s): $$(tail -n 1 $(LOGS)/$(1).log) (see $(LOGS)/$(1).log)"; rm -f $(RUNDIR)/$(1).pid; fi; \
fi
endef
# $(call stop_bg,NAME): SIGTERM the process group of NAME, SIGKILL after 20 s
define stop_bg
if [ -f $(RUNDIR)/$(1).pid ] && kill -0 "$$(cat $(RUNDIR)/$(1).pid)" 2>/dev/null; then \
  pid=$$(cat $(RUNDIR)/$(1).pid); kill -TERM -- "-$$pid" 2>/dev/null || kill -TERM "$$pid"; \
  for i in $$(seq 1 100); do kill -0 "$$pid" 2>/dev/null || break; sleep 0.2; done; \
  kill -KILL -- "-$$pid" 2>/dev/null; echo "$(1) stopped"; \
else echo "$(1) was not running"; fi; rm -f $(RUNDIR)/$(1).pid
endef

up: $(STAMP) ## Start everything: PostgreSQL, MLflow, Airflow, paper worker, dashboard (logs in .traider/logs)
	@mkdir -p $(LOGS) $(RUNDIR)
	$(BIN)/traider db up
	$(BIN)/traider db migrate
	@if [ -z "$$MLFLOW_TRACKING_PASSWORD" ]; then $(BIN)/python -c 'import sys; from pathlib import Path; \
	  from traider.config.local_secrets import generated_secret; \
	  value, new = generated_secret(Path(sys.argv[1]), "mlflow_admin_password"); \
	  new and print(f"MLflow admin user admin, password (shown this once; kept in {sys.argv[2]}, readable by you only): {value}")' \
	  $(STATE) $(MLFLOW_PASSWORD_FILE); fi
	@$(MLFLOW_ENV); $(BIN)/traider mlflow up
	@$(MLFLOW_ENV); $(BIN)/traider airflow up
	@$(MLFLOW_ENV); $(call start_bg,worker,$(BIN)/traider worker $(WORKER_ARGS))
	@if [ -z "$$TRAIDER_DASHBOARD_USERS" ] && [ ! -s $(DASHBOARD_USERS_FILE) ]; then \
	  password=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(18))'); mkdir -p -m 700 $(STATE)/secrets; \
	  echo "$$password" | (umask 077; $(BIN)/traider dashboard hash-password --user operator --password-stdin > $(DASHBOARD_USERS_FILE)) && \
	  echo "Dashboard user 'operator', password (shown this once and stored nowhere; delete $(DASHBOARD_USERS_FILE) for a new one): $$password"; \
	fi
	@export TRAIDER_DASHBOARD_USERS="$${TRAIDER_DASHBOARD_USERS:-$$(cat $(DASHBOARD_USERS_FILE) 2>/dev/null)}"; $(MLFLOW_ENV); \
	  $(call start_bg,dashboard,$(BIN)/traider dashboard run --port $(DASHBOARD_PORT))
	@echo "Airflow UI and API: $$(sed -n 's/.*"url": "\(.*\)".*/\1/p' $(STATE)/airflow/platform.json) (user admin, password in $(STATE)/airflow/simple_auth_manager_passwords.json)"
	@echo "MLflow: $${TRAIDER_MLFLOW_TRACKING_URI:-http://127.0.0.1:$${TRAIDER_MLFLOW_PORT:-5000}}    dashboard: http://127.0.0.1:$(DASHBOARD_PORT)    stop all: make down"

down: ## Stop everything `make up` started (data, logs and generated passwords are kept)
	@$(call stop_bg,dashboard)
	@$(call stop_bg,worker)
	$(BIN)/traider airflow down
	$(BIN)/traider mlflow down
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
