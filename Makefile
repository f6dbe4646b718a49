# The course's commands. A student needs two: `make lab` and `make test`.
# Windows without make: see "No make (Windows)" in README.md for the same steps.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# What is installed, one stamp per requirements file: a student's `make lab` installs the
# course only; `make test` adds the test tools; `make test-browser` adds Playwright.
LAB := $(VENV)/.installed-lab
DEV := $(VENV)/.installed-dev
BROWSER := $(VENV)/.installed-browser
SITE := $(VENV)/.installed-site
# The course as shipped, copied for a test run (exercises generated from solutions/).
STAGE := build/nbtest
# Parallel pytest workers: most notebook time is sleeping, so a few more than the cores.
TEST_WORKERS ?= 4
# Where make test-pythons looks for Debian's Python 3.14 and 3.15 (README, "Pythons").
PYTHONS_CHROOT ?= /opt/pythons/debian

.PHONY: help install lab test test-busy test-browser test-pythons lint notebooks exercises \
	grade site test-wheel benchmark benchmark-batching benchmark-grading benchmark-http \
	constraints clean

help:
	@echo "make lab        - set up .venv (first time) and open the course in JupyterLab"
	@echo "make test       - set up .venv with the test tools (first time) and run every test"
	@echo "make test-busy  - make test while another process keeps one core busy"
	@echo "make test-browser - run every lesson in JupyterLab in Chromium (screenshots)"
	@echo "make test-pythons - make test on every Python >= 3.11 found (pyenv, Debian folder)"
	@echo "make notebooks  - re-run lessons and solutions at lecture scale, store outputs"
	@echo "make exercises  - regenerate exercises/ from solutions/"
	@echo "make benchmark  - time each notebook at test scale and a worker's imports"
	@echo "make benchmark-batching - the file-batching project: main vs sequential, joblib, LPT"
	@echo "make site       - build the course's web site into build/site/ (links checked)"
	@echo "make test-wheel - install the built wheel in a fresh venv and run every lesson outside the repo"
	@echo "make benchmark-http - 1 000 requests to the course's HTTP server: each client against the ideal"
	@echo "make grade SUBMISSIONS=folder - grade submitted exercise notebooks (grades.csv, feedback)"
	@echo "make benchmark-grading - time grading 30 submissions of one lesson"
	@echo "make constraints - record the installed (tested) package versions in constraints.txt"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

$(LAB): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install -r requirements.txt
	@touch $@

$(DEV): requirements-dev.txt pyproject.toml | $(PY)
	$(PY) -m pip install -r requirements-dev.txt
	@touch $@ $(LAB)

$(BROWSER): requirements-browser.txt pyproject.toml | $(PY)
	$(PY) -m pip install -r requirements-browser.txt
	@touch $@ $(DEV) $(LAB)

$(SITE): site/requirements.txt | $(PY)
	$(PY) -m pip install -r site/requirements.txt
	@touch $@

install: $(LAB)

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

lab: $(LAB)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(ROOT_FLAG) notebooks/00_welcome.ipynb

# Lint the course as shipped: everything but exercises/ (yours to answer), then the
# exercises as generated from solutions/.
lint: $(DEV)
	$(PY) -m concurrency_lab.dev.stage $(STAGE)
	$(PY) -m ruff check . $(STAGE)/exercises

# Tests the course as shipped, never your answers: lessons and solutions compared with
# their stored outputs (nbval, fork), every notebook under spawn and forkserver, the
# exercises as generated from solutions/, and the unit tests. The test scale is set in
# one place: concurrency_lab/dev/nbtesting.py (TEST_SCALE), which also starts the long
# runs first and keeps a notebook's cells on one worker (they share a kernel); every
# other test goes to whichever worker is free.
test: lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope \
		tests/test_start_methods.py $(STAGE)/notebooks $(STAGE)/solutions tests \
		--nbval --nbval-kernel-name concurrency-lab-fork \
		--nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 60

# The same, with a bounded busy loop on one core for the length of the run.
BUSY_CORES ?= 1
test-busy: $(DEV)
	$(PY) -m concurrency_lab.dev.busy --cores $(BUSY_CORES) -- $(MAKE) test

# The lessons in a real JupyterLab, driven through Debian's Chromium by Playwright (no
# browser download). Installs the chromium package when it is missing and we may.
CHROMIUM ?= /usr/bin/chromium
test-browser: $(BROWSER) $(SITE)
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

# Maintainers: make test on every Python >= 3.11 this machine has, each in a fresh clone
# (TEST_PYTHONS_ARGS="--only 3.14 --keep" passes options to scripts/test_pythons.sh).
test-pythons:
	PYTHONS_CHROOT=$(PYTHONS_CHROOT) bash scripts/test_pythons.sh $(TEST_PYTHONS_ARGS)

# The course as a static web site in build/site/: stored outputs (nothing executed), links checked.
site: $(DEV) $(SITE)
	$(PY) -m concurrency_lab.dev.site

# The built wheel in a fresh venv, every lesson run from an empty folder, every qN.solution()
# (about 3 minutes: a maintainers' check, not part of make test).
test-wheel: $(DEV)
	CONCURRENCY_LAB_TEST_WHEEL=1 $(PY) -m pytest -p no:xdist -s tests/test_wheel.py

notebooks: $(DEV)
	CONCURRENCY_LAB_SCALE=1 $(PY) -m concurrency_lab.dev.nbrun notebooks/*.ipynb solutions/*.ipynb

exercises: $(DEV)
	$(PY) -m concurrency_lab.dev.generate

# Instructors: grade a class. SUBMISSIONS: notebooks or folders (a folder per student, or
# files named by student); writes $(GRADES)/grades.csv and $(GRADES)/feedback/.
SUBMISSIONS ?= submissions
GRADES ?= grading
grade: $(LAB)
	$(PY) -m concurrency_lab.grade $(SUBMISSIONS) --out $(GRADES)

benchmark-grading: $(DEV)
	$(PY) -m benchmarks.grading

# 1 000 requests of 100 ms to the course's HTTP server (limit 50), every client side by side.
benchmark-http: $(DEV)
	$(PY) -m benchmarks.http

benchmark: $(DEV)
	$(PY) tests/benchmark_suite.py

# Ratios measured side by side in one run; --check exits non-zero when a target is missed.
benchmark-batching: $(DEV)
	$(PY) -m benchmarks.batching --check

constraints: $(BROWSER)
	$(PY) -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
