# The two commands: `make run` runs duban, `make test` runs the tests. Each sets up .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint clean browser bench

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
N ?= 1000
bench: $(STAMP)
	$(BIN)/python -m bench --n $(N)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy .

clean:
	rm -rf $(VENV) .duban
