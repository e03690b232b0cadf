# Two commands set everything up on a fresh machine with Python 3.11 and make:
#   make run    install into .venv if needed, then serve the API (SQLite in ./data)
#   make test   install what the tests need, then run them all
# Installs are pinned by constraints.txt (`make constraints` writes it from the venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench install clean constraints

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
