VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= .flagdeck/flagdeck.yaml
PORT ?= 8080
CONSOLE ?= $(VENV)/bin/flagdeck console

.PHONY: run test bench lint install node

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch node_modules/.installed

node: node_modules/.installed

run: install
	@test -f $(CONFIG) || $(VENV)/bin/flagdeck init $(dir $(CONFIG))
	@log=$(dir $(CONFIG))evaluator.log; \
	$(VENV)/bin/flagdeck serve --config $(CONFIG) --port $(PORT) > $$log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' EXIT; trap 'exit 130' INT TERM HUP; \
	until grep -q listening $$log 2>/dev/null; do \
	  if ! kill -0 $$pid 2>/dev/null; then \
	    echo "the evaluator did not start (try another port: make run PORT=8081):" >&2; cat $$log >&2; exit 1; \
	  fi; sleep 0.1; \
	done; \
	echo "evaluator: http://127.0.0.1:$(PORT) (log: $$log)"; \
	$(CONSOLE) --config $(CONFIG) || true

test: install node
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest -n 2 -q

bench: install node
	@command -v wrk >/dev/null 2>&1 || { echo "bench/server.py needs Debian's wrk: installing it"; \
		(apt-get update -qq && apt-get install -y -qq wrk) || echo "could not install wrk; bench/server.py will say so"; }
	$(PY) bench/run_all.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
