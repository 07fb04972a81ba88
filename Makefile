# One-command entry points; each installs what it needs into a local venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
# Optional: a PyTorch wheel index to install torch from before the package,
# e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu for the CPU build.
# Unset, everything comes from the default index, as before.
TORCH_INDEX ?=

.PHONY: install demo test lint docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(PY) -m pip install --quiet -c constraints.txt --index-url $(TORCH_INDEX) torch)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	PYTHONPATH=. $(PY) examples/omniglot_demo.py

test: install lint
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

# The docs extra (Sphinx, sphinx-gallery, numpydoc, matplotlib) has its own
# stamp, so that `make test` does not install it.
$(DOCS_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,docs]"
	touch $(DOCS_STAMP)

# Site in docs/_build/html; runs the examples/plot_*.py gallery (a few minutes).
docs: $(DOCS_STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	rm -rf docs/_build docs/auto_examples docs/generated docs/benchmarks docs/sg_execution_times.rst
