# EDA Lab: the front door. `make help` lists the targets.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
READY := $(VENV)/.edalab-ready
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup up down status logs test test-container bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Setup runs again whenever the lock, the package metadata or the setup script changes.
$(READY): requirements/lock.txt pyproject.toml scripts/setup scripts/find-python
	@scripts/setup

setup: $(READY) ## create .venv (Python 3.13) with the locked dependencies

up: $(READY) ## start the engine and deploy every lab (safe to run again)
	@$(PY) -m edalab up

down: $(READY) ## stop the engine and every function process
	@$(PY) -m edalab down

status: $(READY) ## engine mode, health, resources, queue and DLQ depths
	@$(PY) -m edalab status

logs: $(READY) ## the engine's log (LINES=200)
	@$(PY) -m edalab logs --lines $(or $(LINES),200)

test: $(READY) ## the whole test suite (starts its own engine)
	@$(PY) -m pytest $(PYTEST_ARGS)

test-container: $(READY) ## the suite against the container engine (needs a Docker engine)
	@EDALAB_TEST_ENGINE=container $(PY) -m pytest $(PYTEST_ARGS)

clean: down ## stop everything and remove the engine's state folder (keeps .venv)
	@rm -rf .edalab

bench: $(READY) ## measure engine start, bootstrap, invoke and SQS latency (bench/results/latest.json)
	@$(PY) bench/engine_latency.py
