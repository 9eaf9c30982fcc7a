# junheng: run `make help` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home

help: ## Show the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@echo "Creating $(VENV) and installing pinned dependencies (first run takes a few minutes)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv with the pinned dependencies

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml ## Generate a synthetic province and run the whole pipeline on it
	@$(MAKE) --no-print-directory browser || echo "Could not install Chromium: the demo writes no PDFs (everything else as usual)."
	$(BIN)/junheng demo

# lint and mypy first (CI runs make test, so it enforces them); then three workers on two cores, whole files
# each (so module fixtures are built once, and the shared builds of tests/conftest.py once per session), the
# longest files first (tests/conftest.py, LONGEST_FIRST): with two, a core waited on subprocesses and on the
# shared builds. The tests' files go to a RAM disk (/dev/shm, when it has 8 GiB free: the suite writes about
# 4 GiB), removed afterwards; the fault tests mount their own small file systems. Measured on an idle
# 2-core machine: 2026-12-07 (stop 41), 11 min 17 s from a fresh clone (.venv 38 s, pytest 10 min 19 s, 785
# tests; it prints the 25 slowest), 9 min 52 s with .venv in place. The host's speed varies: at stop 42 the
# same tests took 1,211 CPU-seconds (11 min 1 s) in the morning and 1,473 (13 min 21 s) in the afternoon; at stop 43,
# three fresh-clone CI runs in one afternoon took 12 min 45 s, 12 min 36 s and 13 min 30 s (785-788 tests); at stop
# 44, pytest alone took 11 min 16 s (1,266 CPU-s) and, an hour later, 12 min 7 s (1,361 CPU-s); fresh-clone CI
# 12 min 47 s (789 tests); at stop 45, with the fault tests' and the tiny benchmark's processes forked from a warm
# launcher (bench/warm.py), pytest alone took 11 min 5 s (1,242 CPU-s). Before (two workers on /tmp): 19 min
# 18 s. The suite is CPU-bound: some 90 `junheng run`s at a fixed 5-14 s each (great-expectations and Dagster,
# more than the data), the tiny benchmark (ten processes) and the demo build; the fault matrix and the tiny
# benchmark are about a third of it. Four workers: 10 min 15 s (no better).
test: $(STAMP) browser lint ## Lint, type-check and run the whole test suite
	@shm=$$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 && $$4 > 8 * 1024 * 1024 {print "/dev/shm"}'); \
	base=$$(mktemp -d -p "$${shm:-$${TMPDIR:-/tmp}}" junheng-tests.XXXXXX); \
	trap 'rm -rf "$$base"' EXIT; trap 'exit 130' INT TERM; \
	echo "test files under $$base (removed afterwards, also when interrupted)"; \
	JUNHENG_REQUIRE_BROWSER=1 JUNHENG_REQUIRE_ROOT=1 JUNHENG_TESTS_BUILD_EVERY_MODEL=1 $(BIN)/python -m pytest -n 3 --dist loadfile \
	  --no-loadscope-reorder --durations=25 --basetemp="$$base/pytest"

# the edit loop: lint, types and the unit tests (no province is built); a unit test's tiny warehouse builds only the
# models the test reads (make test builds every model; tests/conftest.py). Measured on an idle 2-core machine,
# 2026-12-07 afternoon (stop 43), .venv in place: 1 min 49 s without lint caches (540 tests in 87 s), 1 min 31 s
# again; 2 min 50 s when it creates .venv too. Before (building every model): 2 min 21 s and 1 min 56 s.
check: $(STAMP) lint ## Lint, type-check and run the unit tests (quick: no province is built)
	$(BIN)/python -m pytest tests/unit -n 3 --dist loadfile --no-loadscope-reorder -q

BENCH_NATIONAL_YEARS ?= 10
bench: $(STAMP) ## Benchmark province and national scale against pandas and a raw scan -> bench/results.md
	$(BIN)/python -m bench.run --national-years $(BENCH_NATIONAL_YEARS)

mutation: $(STAMP) ## Check that wrong official numbers and pass rules fail the unit tests (slow; not in make test)
	$(BIN)/python -m tests.mutation.run

browser: ## Install Debian's Chromium, CJK fonts and poppler-utils: the reports' PDFs and their tests (root or sudo)
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh | grep -q . || ! command -v pdftotext >/dev/null; then \
	  echo "Installing Debian's chromium, fonts-noto-cjk and poppler-utils (PDFs of the reports, and their tests)..."; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null; \
	fi

DEV_PORT ?= 3000
dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml ## Start the Dagster UI (asset graph, runs) on localhost:$(DEV_PORT) (make dev DEV_PORT=3001)
	$(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p $(DEV_PORT)

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check pipelines contracts tests bench
	$(BIN)/ruff format --check pipelines contracts tests bench
	$(BIN)/mypy pipelines contracts bench/warm.py

format: $(STAMP) ## Apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix pipelines contracts tests bench
	$(BIN)/ruff format pipelines contracts tests bench

lock: ## Re-resolve requirements.lock from pyproject.toml in a scratch environment
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ echo '# Resolved versions of every package (direct and transitive) that `make` installs, as constraints.'; \
	  echo '# Regenerate after changing pyproject.toml: make lock'; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -vi '^junheng'; } > requirements.lock
	rm -rf .lock-venv

clean: ## Remove the generated warehouse, landing data and Dagster state (keeps .venv)
	rm -rf warehouse/landing warehouse/published warehouse/reports warehouse/*.duckdb* $(DAGSTER_HOME)

.PHONY: help venv demo test check bench mutation browser dev lint format lock clean
