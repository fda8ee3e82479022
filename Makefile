# The two commands in the README: `make test` and `make run`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test run check bench eval model cv clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

run: $(STAMP)
	$(PY) -m bot

check: $(STAMP)
	$(PY) -m ruff check policy bot handlers tests
	$(PY) -m ruff format --check policy bot handlers tests
	$(PY) -m mypy

eval: $(STAMP)
	$(PY) -m policy eval ../shared/eval/dev.jsonl
	$(PY) -m policy eval tests/corpus/corpus.jsonl

model: $(STAMP)
	$(PY) -m policy train

cv: $(STAMP)
	$(PY) -m policy cv

bench: $(STAMP)
	$(PY) tests/bench/bench_policy.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
