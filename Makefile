# The two set-up commands: `make demo` (main job on bundled data) and `make test` (whole suite).
# Both create .venv if missing and install the project into it. torch is pinned to the
# CPU build that lies on this machine's disk; elsewhere, override: make test TORCH='torch>=2.4'
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev,fast]"
	-$(PY) -m rnnkit.warmup  # compiles the kernels ahead of a first fit; optional
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rnnkit forecast

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples

bench: $(STAMP)
	$(PY) benchmarks/ref_engine.py
	$(PY) benchmarks/layers.py
	$(PY) benchmarks/frontend.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
