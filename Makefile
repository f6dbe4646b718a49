# The course's commands. A student needs two: `make lab` and `make test`.
# Windows without make: see "No make (Windows)" in README.md for the same steps.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# Notebook tests run the real notebooks at this fraction of lecture scale.
TEST_SCALE ?= 0.02
# Parallel pytest workers: most notebook time is sleeping, so a few more than the cores.
TEST_WORKERS ?= 4

.PHONY: help install lab test test-browser lint notebooks exercises benchmark benchmark-batching clean

help:
	@echo "make lab        - set up .venv (first time) and open the course in JupyterLab"
	@echo "make test       - set up .venv (first time) and run every test"
	@echo "make test-browser - run every lesson in JupyterLab in Chromium (screenshots)"
	@echo "make notebooks  - re-run lessons and solutions at lecture scale, store outputs"
	@echo "make exercises  - regenerate exercises/ from solutions/"
	@echo "make benchmark  - time each notebook at test scale and the whole suite"
	@echo "make benchmark-batching - the file-batching project: main vs sequential, joblib, LPT"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

lab: install
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(ROOT_FLAG) notebooks/00_welcome.ipynb

lint: install
	$(PY) -m ruff check .

test: lint
	CONCURRENCY_LAB_SCALE=$(TEST_SCALE) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope \
		tests notebooks solutions \
		--nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg \
		--nbval-cell-timeout 60

# The lessons in a real JupyterLab, driven through Debian's Chromium by Playwright (no
# browser download). Installs the chromium package when it is missing and we may.
CHROMIUM ?= /usr/bin/chromium
test-browser: install
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update && apt-get install -y chromium; \
		else \
			echo "make test-browser needs Chromium at $(CHROMIUM): install it (Debian/Ubuntu:"; \
			echo "sudo apt-get install chromium) or run: make test-browser CHROMIUM=/path/to/chromium"; \
			exit 1; \
		fi; \
	fi
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest -p no:xdist tests/browser

notebooks: install
	CONCURRENCY_LAB_SCALE=1 $(PY) -m concurrency_lab.dev.nbrun notebooks/*.ipynb solutions/*.ipynb

exercises: install
	$(PY) -m concurrency_lab.dev.generate

benchmark: install
	$(PY) tests/benchmark_suite.py

# Ratios measured side by side in one run; --check exits non-zero when a target is missed.
benchmark-batching: install
	$(PY) -m benchmarks.batching --check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
