# Two commands set everything up on a fresh machine with Python 3.11 and make:
#   make run    install into .venv if needed, then serve the API (SQLite in ./data)
#   make test   install what the tests need, then run them all
# Installs are pinned by constraints.txt (`make constraints` writes it from the venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench fuzz install clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/xborder serve

test: $(STAMP)
	scripts/test

# The contract fuzzer of make test, longer: XBORDER_FUZZ_EXAMPLES examples per operation and
# mode, and as many stateful scenarios (make test runs a few; tests/contract/test_fuzz.py).
# The two modes (unsigned, signed) run in parallel: 300 took 7 minutes on 2 cores, so 1000
# takes roughly half an hour.
XBORDER_FUZZ_EXAMPLES ?= 1000
XBORDER_TEST_PROCESSES ?= 2
fuzz: $(STAMP)
	XBORDER_FUZZ_EXAMPLES=$(XBORDER_FUZZ_EXAMPLES) $(BIN)/python -m pytest \
		-n $(XBORDER_TEST_PROCESSES) -m fuzz tests/contract

check: $(STAMP)
	scripts/check

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^#' > constraints.txt
