# Two commands on a fresh machine:  make run   |   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= config/demo.yaml

.PHONY: run test lint bench clean demo-tickets

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## Start Brique on the embedded default with the demo configuration.
run: $(STAMP) demo-tickets
	$(BIN)/brique run --config $(CONFIG)

## Preload the demo drop folder with sample tickets (once).
demo-tickets:
	@if [ ! -d var/demo/incoming ]; then \
		mkdir -p var/demo/incoming && cp config/demo/tickets/*.xml var/demo/incoming/ && \
		echo "demo: sample POSLog tickets copied to var/demo/incoming"; fi

## The whole suite: lint, then every test (embedded default, PostgreSQL, Redis, RabbitMQ).
test: $(STAMP)
	$(BIN)/ruff check bridge connectors workers tests benchmarks
	$(BIN)/ruff format --check bridge connectors workers tests benchmarks
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check bridge connectors workers tests benchmarks
	$(BIN)/ruff format --check bridge connectors workers tests benchmarks

## Benchmarks: ratios against baselines measured in the same run.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf var .pytest_cache
