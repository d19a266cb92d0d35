# The two commands of the README: `make run` and `make test`. Each creates .venv and
# installs into it when pyproject.toml changed since the last install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# `make run PORT=9000 HOST=0.0.0.0`: only values given on make's command line count (a
# PORT in the environment is some other program's); ADKSTREAM_PORT/HOST work as well.
run: $(STAMP)
	$(BIN)/adkstream serve$(if $(filter command line,$(origin PORT)), --port $(PORT))$(if $(filter command line,$(origin HOST)), --host $(HOST))

services:
	bash scripts/services.sh

test: $(STAMP) services
	bash scripts/browser.sh
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check adkstream tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .adkstream
