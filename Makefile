# Commands (see README):
#   make study   set up everything on a fresh machine, run the default study, write its report
#   make test    set up everything and run the test suite (what .ci/run calls)
#   make bench   time `asicsim run` (writes out/benchmarks/run.md; `make bench RECORD=--record`
#                refreshes the committed benchmarks/results/run.md)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RECORD ?=

.PHONY: setup study test bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

study: $(STAMP)
	$(BIN)/asicsim run --report --out reports/resnet18_edge_b32

test: $(STAMP)
	bash scripts/setup_browser.sh
	$(BIN)/pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_run.py $(RECORD)

clean:
	rm -rf $(VENV) .pytest_cache
