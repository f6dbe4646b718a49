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

.PHONY: help install lab test lint notebooks exercises benchmark clean

help:
	@echo "make lab        - set up .venv (first time) and open the course in JupyterLab"
	@echo "make test       - set up .venv (first time) and run every test"
	@echo "make notebooks  - re-run lessons and solutions at lecture scale, store outputs"
	@echo "make exercises  - regenerate exercises/ from solutions/"
	@echo "make benchmark  - time each notebook at test scale and the whole suite"

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

notebooks: install
	CONCURRENCY_LAB_SCALE=1 $(PY) -m concurrency_lab.nbrun notebooks/*.ipynb solutions/*.ipynb

exercises: install
	$(PY) -m concurrency_lab.exercises.generate

benchmark: install
	$(PY) tests/benchmark_suite.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
