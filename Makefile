# One-command entry points; each installs what it needs into a local venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) examples/omniglot_demo.py

test: install lint
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check sklearn_hilander tests examples benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
