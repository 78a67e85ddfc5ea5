# The two commands that matter: `make run` and `make test`. Both set up .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/gan-studio

# lint first: a style or layering slip fails in seconds, before the minutes of pytest
test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# ruff's rules and the import contracts (ui > app > engine, the engine's own layers) are in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/lint-imports --no-cache --no-logo

clean:
	rm -rf $(VENV) build *.egg-info
