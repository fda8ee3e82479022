# The two commands in the README: `make test` and `make run`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test run check bench soak eval model cv clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian packages the tests need: a CJK font to render the notice pictures of tests/reading.
# Installed once with apt-get (as root, else through sudo); skipped when already installed.
TEST_DEBS := fonts-wqy-microhei
DEBS_STAMP := $(VENV)/.debs-installed

$(DEBS_STAMP): $(STAMP) Makefile
	@missing=$$(for p in $(TEST_DEBS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		command -v apt-get >/dev/null || { echo "install these packages (Debian names): $$missing" >&2; exit 1; }; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "installing $$missing"; \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	touch $@

setup: $(STAMP)

test: $(STAMP) $(DEBS_STAMP)
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

bench: $(STAMP) $(DEBS_STAMP)
	$(PY) tests/bench/bench_policy.py
	$(PY) tests/bench/bench_reading.py

# 10,000 updates from 500 users and 20 groups through the emulator; figures in RELIABILITY.md.
soak: $(STAMP)
	$(PY) tests/bench/soak.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
