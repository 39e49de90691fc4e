# The project's verbs. CI runs `make test` on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_PORT := 8765

.PHONY: install locks chromium demo run once panel screenshots test lint bench bench-quick clean

install: $(VENV)/.installed chromium

# A development environment: requirements-dev.lock is requirements.lock (what production
# installs) plus the dev extra (tests, linters, a local Scrapyd).
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Both locks again from pyproject.toml, keeping the versions they pin unless pyproject.toml
# rules them out (needs uv: `pip install uv`, in any environment).
UV ?= uv
locks:
	$(UV) pip compile pyproject.toml -o requirements.lock --python $(BIN)/python \
		--custom-compile-command "make locks"
	$(UV) pip compile pyproject.toml --extra dev -o requirements-dev.lock --python $(BIN)/python \
		--custom-compile-command "make locks"

# Debian's Chromium where we can install it; otherwise Playwright's own build (needs internet).
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "no system chromium: fetching Playwright's"; $(BIN)/playwright install chromium; \
	fi

# One whole offline pass of the bot over the sample sites in fixtures/.
demo: install
	@rm -rf data/demo
	@$(BIN)/python fixtures/serve.py --port $(DEMO_PORT) & server=$$!; \
	trap 'kill $$server 2>/dev/null' EXIT; sleep 1; \
	$(BIN)/python scheduler.py --config fixtures/demo.toml once; status=$$?; \
	echo; echo "database: data/demo/awardwatch.db · spreadsheet: data/demo/offers.xlsx"; \
	exit $$status

# The daemon on config.toml.
run: install
	$(BIN)/python scheduler.py --config config.toml daemon

once: install
	$(BIN)/python scheduler.py --config config.toml once

panel: install
	$(BIN)/python scheduler.py --config config.toml panel

# The panel's screenshots in docs/ (tests alone never write tracked files).
screenshots: install
	AWARDWATCH_SCREENSHOTS=docs $(BIN)/pytest tests/test_panel.py -q

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	@$(BIN)/python bench/run.py

bench-quick: install
	@$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
