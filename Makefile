# JobPing: `make test` and `make run` do all the set-up on a fresh machine with Python 3.11+.
# Everything is installed into .venv from the three pinned requirement sets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
REQS   := requirements.txt requirements-runtime.txt requirements-dev.txt
PYTEST_ARGS ?= -n 2 --dist loadfile
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

.PHONY: help venv test lint fmt typecheck pytest faults run bench clean

help:
	@echo "make test   install everything into .venv, then ruff, mypy and pytest"
	@echo "make run    run the whole system locally (embedded Postgres + moto SQS)"
	@echo "make lint   ruff check + format check;  make fmt  fix formatting and imports"
	@echo "make faults the fault scenarios only, and their table (also part of make test)"
	@echo "make bench  benchmarks (see bench/README.md)"

venv: $(STAMP)

$(STAMP): $(REQS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "JobPing needs Python 3.11+; $(PYTHON) is $$($(PYTHON) --version)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(addprefix -r ,$(REQS))
	@touch $@

test: venv lint typecheck pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

faults: venv
	$(BIN)/python -m pytest -m fault $(PYTEST_ARGS)

run: venv
	$(BIN)/python -m devtools local run

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
