# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow browser lint ci install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# LightFM (the learned baseline of `matchning evaluate`) needs a patched build: tests only.
LIGHTFM := $(VENV)/.lightfm
$(LIGHTFM): $(STAMP) scripts/install-lightfm.sh
	bash scripts/install-lightfm.sh $(BIN)/python
	touch $(LIGHTFM)

install: $(STAMP)

## Start the service on its embedded default: SQLite, demo data, a trained model, API and
## pages on :8000.
run: install
	$(BIN)/matchning init-db
	$(BIN)/matchning demo --if-empty
	$(BIN)/matchning train --if-none
	$(BIN)/matchning serve

## The fast suite (< 10 minutes). PostgreSQL tests run when MATCHNING_TEST_POSTGRES_URL is set.
test: install $(LIGHTFM)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/pytest -q -n 2 -m "not slow"

## The slow suite: end-to-end start of the service, the browser tests, fuzzing, load and faults.
test-slow: install $(LIGHTFM) browser
	$(BIN)/pytest -q -m slow

## Debian's Chromium for the browser tests (never a browser download by a test tool).
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

lint: install
	$(BIN)/ruff check src tests benchmarks scripts

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
