# The two commands that matter: `make run` and `make test`. Both set up .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint desktop setup clean

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

# Linux desktops: GAN Studio in the applications menu, with its icon (`make desktop` once;
# again after moving this folder, since the entry points at this checkout's .venv)
DESKTOP_DIR := $(HOME)/.local/share/applications
ICON_DIR := $(HOME)/.local/share/icons/hicolor

desktop: $(STAMP)
	install -Dm644 assets/icon.svg $(ICON_DIR)/scalable/apps/gan-studio.svg
	for s in 256 64 32; do install -Dm644 assets/icon-$$s.png $(ICON_DIR)/$${s}x$${s}/apps/gan-studio.png; done
	mkdir -p $(DESKTOP_DIR)
	sed 's|^Exec=gan-studio|Exec="$(CURDIR)/$(BIN)/gan-studio"|' assets/gan-studio.desktop > $(DESKTOP_DIR)/gan-studio.desktop
	command -v update-desktop-database >/dev/null && update-desktop-database $(DESKTOP_DIR) || true

clean:
	rm -rf $(VENV) build *.egg-info
