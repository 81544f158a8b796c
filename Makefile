# Two commands on a fresh machine: `make demo` and `make test`. Both bootstrap .venv idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every optional simulator's dependencies, so `make test` runs every simulator's tests, and the
# peer optimisers (Ax, Optuna, BayBE), so the peer adapters' tests run too.
EXTRAS := aero,robot,peers

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Debian packages some simulators drive: ngspice (the circuit bench). Where they cannot be
# installed (no root), those simulators say so and their tests skip with the reason.
SYSTEM := $(VENV)/.system
$(SYSTEM): $(BIN)/python
	@command -v ngspice >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ngspice >/dev/null) || \
	  echo "warning: could not install ngspice; the filter simulator's tests will skip"
	touch $(SYSTEM)

# torch first, exactly this CPU build: anything that pulls a plain `torch` would fetch CUDA.
$(STAMP): $(BIN)/python $(SYSTEM) pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,$(EXTRAS)]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/daedalus demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/snar_proposers.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
