# Brokerage: `make run` to start everything, `make test` to run the whole suite.
SHELL := /bin/bash
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
WS_PORT ?= $(shell echo $$(( $(PORT) + 1 )))
export PY

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/base.txt requirements/dev.txt package-lock.json
	@$(PYTHON_BIN) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	npm ci --no-audit --no-fund
	@# The browser tests drive Debian's chromium; install it when missing and we may (root).
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || (apt-get update && apt-get install -y chromium)
	touch $@

# The matching engine core compiled with mypyc; the interpreted core is the fallback, and the
# package only loads a build made from the current core.py.
$(VENV)/.engine-native: $(VENV)/.installed apps/matching/engine/core.py scripts/build_engine.sh
	scripts/build_engine.sh && touch $@ || echo "mypyc build failed: the interpreted engine core will be used"

install: $(VENV)/.installed $(VENV)/.engine-native ## Create the virtualenv, install pinned dependencies, build the engine

services: install ## Make sure PostgreSQL and Redis answer (start them if needed)
	@scripts/services.sh
	@$(PY) scripts/createdb.py

migrate: services ## Apply database migrations
	$(PY) manage.py migrate --noinput

seed: migrate ## Load the demo data (idempotent)
	$(PY) manage.py seed_demo

run: seed ## Install, migrate, seed, start every process, serve http://127.0.0.1:$(PORT)
	@$(PY) manage.py demo_credentials
	@echo "Serving http://127.0.0.1:$(PORT) (WebSockets on $(WS_PORT)). Ctrl-C stops every process."
	WEB_PORT=$(PORT) WS_PORT=$(WS_PORT) PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/honcho start

lint: install ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## Format and autofix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: services lint ## Install, start services, lint, check migrations, run the whole suite
	$(PY) manage.py makemigrations --check --dry-run
	@# Production settings pass Django's security checks (a throwaway key, generated here).
	BROKERAGE_ENV=production DJANGO_ALLOWED_HOSTS=brokerage.example.com \
	  DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  $(PY) manage.py check --deploy --tag security --fail-level WARNING
	$(PY) -m pytest -n 2 --dist loadscope --durations=15

bench: services ## Run the benchmarks; prints a table, writes bench/results/*.json
	@mkdir -p bench/results
	@for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

demo-reset: services ## Drop and recreate the development database with fresh demo data
	$(PY) scripts/createdb.py --drop
	$(MAKE) seed

.PHONY: help install services migrate seed run lint format test bench demo-reset
