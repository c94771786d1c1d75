# The two commands: `make run` runs duban, `make test` runs the tests. Each sets up .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint clean browser bench faults

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[stack,test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/duban up

test: $(STAMP) browser
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# The browser test drives Debian's chromium (with a CJK font, so Chinese is legible in its
# screenshots); install them where this machine lets us.
browser:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	  else \
	    echo "the browser test needs Debian's chromium and fonts-wqy-zenhei: sudo apt-get install chromium fonts-wqy-zenhei"; \
	  fi; \
	fi

# Benchmarks (issue 6): duban against bare Temporal on this machine, in one run; not tests.
# N scales the task counts (the storm's 1000 by default); `make bench N=200` for a quick look.
# It draws its charts with matplotlib, the `bench` extra, installed here and not for `make test`.
N ?= 1000
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[stack,test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench --n $(N)

# The fault suite (issue 14): each scenario on a stack of its own, N tasks (300 by default,
# `make faults N=50` for a quick look) climbing a seconds-scale ladder while the worker, the
# dev server or PostgreSQL is killed or the webhook goes away; about 45 minutes at N=300.
# Not part of `make test`, which keeps a small kill -9 and PostgreSQL case (tests/integration/test_faults.py).
faults: N = 300
faults: $(STAMP)
	$(BIN)/python -m bench.faults --n $(N)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy .

clean:
	rm -rf $(VENV) .duban
