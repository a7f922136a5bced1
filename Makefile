# EDA Lab: the front door. `make help` lists the targets.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
READY := $(VENV)/.edalab-ready
PYTEST_ARGS ?=
# Four workers, each with its own engine: one runs the load runs (10,000 uploads, then 2,000
# feedback submissions) at once, one after the other (the `slow` tests are collected first and
# scheduled as one unit), while the others work through the rest, whose time is
# mostly spent waiting on visibility timeouts and alarm periods (three workers kept 2 cores
# about 40 % busy), so four fit on 2 cores.
# Tests are scheduled a file at a time, but each lab's both-ways check on its own (tests/conftest.py).
# TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 4
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.DEFAULT_GOAL := help
.PHONY: help setup up down status console logs mail reset lab check hint solution deploy progress traffic experiment report drill usage trace load aws-plan test test-quick test-container bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Setup runs again whenever the lock, the package metadata or the setup script changes.
$(READY): requirements/lock.txt pyproject.toml scripts/setup scripts/find-python
	@scripts/setup

setup: $(READY) ## create .venv (Python 3.13) with the locked dependencies

up: $(READY) ## start the engine, deploy every lab, start the console (safe to run again)
	@$(PY) -m edalab up

down: $(READY) ## stop the console, the engine and every function process
	@$(PY) -m edalab down

status: $(READY) ## engine mode, health, resources, queue and DLQ depths
	@$(PY) -m edalab status

console: $(READY) ## the console in the foreground on http://127.0.0.1:8080 (EDALAB_CONSOLE_PORT=8081 to move it)
	@$(PY) -m edalab.console

logs: $(READY) ## the engine's log (LINES=200)
	@$(PY) -m edalab logs --lines $(or $(LINES),200)

mail: $(READY) ## the local inbox: alarm emails and SMS sent through SNS (FULL=1 for whole bodies)
	@$(PY) -m edalab mail $(if $(FULL),--full)

reset: $(READY) ## back to the baseline every lab deployed (your files are untouched; FULL=1 restarts and redeploys)
	@$(PY) -m edalab reset $(if $(filter 1 yes true,$(FULL)),--full)

lab: $(READY) ## where lab LAB=NN stands and what to do next
	@$(PY) -m edalab lab $(LAB)

check: $(READY) ## verify lab LAB=NN against the engine (exit 0 only when complete)
	@$(PY) -m edalab check $(LAB)

hint: $(READY) ## reveal the next hint of lab LAB=NN; N=2 shows hint 2 (again)
	@$(PY) -m edalab hint $(LAB) $(if $(N),--number $(N))

solution: $(READY) ## show lab LAB=NN's reference solution; APPLY=1 applies and deploys it
	@$(PY) -m edalab solution $(LAB) $(if $(filter 1 yes true,$(APPLY)),--apply)

deploy: $(READY) ## redeploy lab LAB=NN after editing its handler
	@$(PY) -m edalab deploy $(LAB)

progress: $(READY) ## every lab's state (FORMAT=json for an instructor)
	@$(PY) -m edalab progress --format $(or $(FORMAT),table)

traffic: $(READY) ## send lab LAB=07's orders (RATE=5 per s, FAIL=0.1 poison, SLOW=0.1, DURATION=60 s)
	@$(PY) -m edalab traffic $(LAB) $(if $(RATE),--rate $(RATE)) $(if $(FAIL),--fail $(FAIL)) $(if $(SLOW),--slow $(SLOW)) $(if $(DURATION),--duration $(DURATION))

experiment: $(READY) ## run lab LAB=08's experiment NAME=… (no NAME lists them; COUNT=… events, RATE=… per second)
	@$(PY) -m edalab experiment $(LAB) $(NAME) $(if $(COUNT),--count $(COUNT)) $(if $(RATE),--rate $(RATE))

report: $(READY) ## lab LAB=08's report from the experiments you ran (Markdown, HTML, JSON)
	@$(PY) -m edalab report $(LAB)

drill: $(READY) ## break something on purpose for lab LAB=09 (NAME=…; no NAME lists the drills)
	@$(PY) -m edalab drill $(LAB) $(NAME)

trace: $(READY) ## one correlation id's path through lab 11's pipeline, hop by hop (ID=…)
	@$(PY) -m edalab trace $(ID)

load: $(READY) ## post lab LAB=11's load run (COUNT=2000: 10 % invalid, 5 % twice, 1 % unstorable) and account for each
	@$(PY) -m edalab load $(LAB) $(if $(COUNT),--count $(COUNT))

aws-plan: $(READY) ## package lab LAB=11 for a real AWS account and print the commands (sends nothing; SOLUTION=1: the solution)
	@$(PY) -m edalab aws-plan $(LAB) $(if $(filter 1 yes true,$(SOLUTION)),--solution)

usage: $(READY) ## what the engine served since the last reset (RESET=1 zeroes it, FORMAT=json)
	@$(PY) -m edalab usage $(if $(RESET),--reset) $(if $(FORMAT),--format $(FORMAT))

test: $(READY) ## the whole test suite, on 4 workers with an engine each (~16 min)
	@$(PYTEST) $(PYTEST_ARGS)

test-quick: $(READY) ## the suite without the `slow` load run
	@$(PYTEST) -m "not slow" $(PYTEST_ARGS)

test-container: $(READY) ## the suite against the container engine (needs a Docker engine)
	@EDALAB_TEST_ENGINE=container $(PYTEST) $(PYTEST_ARGS)

clean: down ## stop everything and remove the engine's state folder (keeps .venv)
	@rm -rf .edalab

bench: $(READY) ## measure the engine and console beside their baselines (~23 min; bench/results/latest.json)
	@$(PY) bench/run.py
