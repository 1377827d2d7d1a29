# Newsdesk: `make run` serves the seed articles on http://127.0.0.1:8000, `make test` checks everything.
# Each step is skipped when already done.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
ARTICLES := $(wildcard data/articles/*)
# In parallel on every core; a test group (tests/conftest.py) stays on one worker.
PYTEST_ARGS ?= -n auto --dist loadgroup

.PHONY: constraints run serve install migrate ingest test lint format bench bench-collect mutation clean

run: ingest ## Install, migrate, ingest data/articles, then serve
	$(BIN)/newsdesk serve --host $(HOST) --port $(PORT)

serve: install ## Serve without (re-)ingesting
	$(BIN)/newsdesk serve --host $(HOST) --port $(PORT)

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[nlp,postgres,dev]'
	touch $@

constraints: ## After a change to pyproject.toml's dependencies: resolve them afresh, pin them in constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade -e '.[nlp,postgres,dev,bench]'
	head -3 constraints.txt > constraints.new
	$(BIN)/python -m pip freeze --exclude-editable >> constraints.new
	mv constraints.new constraints.txt
	touch $(VENV)/.installed $(VENV)/.bench-installed

migrate: install
	$(BIN)/newsdesk db upgrade

ingest: data/.ingested

data/.ingested: $(VENV)/.installed $(ARTICLES) $(wildcard data/aliases.csv)
	$(BIN)/newsdesk ingest data/articles
	touch $@

test: install lint ## Lint, type-check and run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests migrations scripts benchmarks
	$(BIN)/ruff format --check app tests migrations scripts benchmarks
	$(BIN)/mypy app

format: install
	$(BIN)/ruff check --fix app tests migrations scripts benchmarks
	$(BIN)/ruff format app tests migrations scripts benchmarks

# Benchmarks (not part of test): 10k articles by default, under 10 minutes.
# 100k and 1M: make bench BENCH_SIZES="10000 100000 1000000" BENCH_SECONDS=5
# PostgreSQL too: NEWSDESK_BENCH_POSTGRES=postgresql+psycopg://postgres@127.0.0.1/postgres make bench
# (with the RUM alternative, benchmarks/postgres_rum.py: the rum extension of the local
# server's major version is installed; without it that leg is skipped)
BENCH_SIZES ?= 10000
BENCH_SECONDS ?= 3
DATASETTE_VENV := benchmarks/.venv-datasette
PG_MAJOR ?= $(shell ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)

bench: $(VENV)/.bench-installed $(DATASETTE_VENV)/.installed ## Measure the query mix (HTTP, floor, Datasette), write BENCHMARKS.md
	command -v wrk >/dev/null || apt-get install -y wrk
	if [ -n "$$NEWSDESK_BENCH_POSTGRES" ] && [ -n "$(PG_MAJOR)" ]; then \
		dpkg -s postgresql-$(PG_MAJOR)-rum >/dev/null 2>&1 || apt-get install -y postgresql-$(PG_MAJOR)-rum || true; fi
	nice -n 10 $(BIN)/python benchmarks/run.py $(BENCH_SIZES) --seconds $(BENCH_SECONDS)
	if [ -n "$$NEWSDESK_BENCH_POSTGRES" ]; then \
		nice -n 10 $(BIN)/python benchmarks/postgres_rum.py $(BENCH_SIZES); fi
	$(BIN)/python benchmarks/report.py
	$(MAKE) bench-collect

bench-collect: $(VENV)/.installed ## Measure collection (50 local hosts x 100 articles, entities on), write its BENCHMARKS.md section
	nice -n 10 $(BIN)/python benchmarks/collect.py

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	touch $@

$(DATASETTE_VENV)/.installed:
	$(PYTHON) -m venv $(DATASETTE_VENV)
	$(DATASETTE_VENV)/bin/python -m pip install --quiet 'datasette==0.65.*'
	touch $@

# Mutation check (not part of test; hours on two cores, resumable): mutmut on the modules
# that decide answers, report in docs/mutation.md; fails while a survivor is unexplained.
# One module: make mutation MUTATION_ARGS="--module app/search/cursor.py"
MUTATION_ARGS ?=

mutation: $(VENV)/.mutation-installed ## Mutation check of query, filters, cursors, linking, duplicates, index sync
	nice -n 10 $(BIN)/python scripts/mutation.py run $(MUTATION_ARGS)
	$(BIN)/python scripts/mutation.py report --check

$(VENV)/.mutation-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	touch $@

clean:
	rm -rf $(VENV) data/newsdesk.db* data/.ingested .pytest_cache .mypy_cache .ruff_cache mutants
