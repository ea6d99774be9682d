# Two commands matter: `make demo` runs the platform on the demo city,
# `make test` sets up what it needs and runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: demo test unit lint infra install clean faults bench profile scale

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

install: $(VENV)/.installed

infra: install
	$(PY) -m tools.infra up

demo: install
	$(PY) -m tools.platform demo

lint: install
	$(VENV)/bin/ruff check .

unit: install
	$(PY) -m pytest tests/unit -q

test: install lint
	$(PY) -m tools.infra up
	$(PY) -m pytest tests -q

# The whole fault suite (a few hundred petitions under every fault); `make test` runs a
# short form of it (tests/e2e/test_faults.py).
faults: install
	$(PY) -m tools.infra up
	$(PY) -m tools.faults --petitions 40

# The whole flow for 2,000 petitions beside this machine's ceiling; writes the README's
# performance table (not part of `make test`).
bench: install
	$(PY) -m tools.infra up
	$(PY) -m tools.bench --petitions 2000 --write

# CPU profiles of every process over the first half-minute of a 300-petition flow, in
# bench/profiles (a run of its own: sampling slows the flow it measures).
profile: install
	$(PY) -m tools.infra up
	$(PY) -m tools.bench --petitions 300 --profile bench/profiles

# The list and report endpoints at a city's size (20,000 grids, 200,000 volunteers,
# 1,000,000 petitions; the load takes a while): writes bench/scale.json (not part of
# `make test`). SCALE_ARGS="--petitions 20000" for a quick run.
scale: install
	$(PY) -m tools.infra up
	$(PY) -m tools.scale $(SCALE_ARGS)

clean:
	rm -rf $(VENV) .cache .data
