# Tessera — `make run` serves the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run install test lint schemas screenshots bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

## Install into .venv, migrate, create the default workspace and serve on http://127.0.0.1:8000
run: $(INSTALLED)
	$(BIN)/tessera serve

## Install dev dependencies and run every test (PostgreSQL tests skip when it is unreachable, fail under CI=true)
test: $(INSTALLED)
	$(BIN)/python -m pytest

## ruff (with rule A: no shadowing of the standard library) and mypy (strict)
lint: $(INSTALLED)
	$(BIN)/ruff check .
	@# mypy maps files to modules by folder: a link farm gives it the installed names (tessera.*).
	@mkdir -p .lint/tessera
	@for d in platform schema metadata workflows connectors; do ln -sfn ../../$$d .lint/tessera/$$d; done
	$(BIN)/mypy -p tessera

## Regenerate the published JSON Schemas and the committed SDL
schemas: $(INSTALLED)
	$(BIN)/python -m tessera.platform.artifacts write

## Regenerate docs/console/*.png from the console's end-to-end run in headless Chromium
screenshots: $(INSTALLED)
	TESSERA_SCREENSHOTS=docs/console $(BIN)/python -m pytest tests/console -q

## Print performance figures next to their raw-SQL baselines (SQLite, and PostgreSQL when reachable)
bench: $(INSTALLED)
	@for script in benchmarks/[!_]*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .lint .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
