VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= .flagdeck/flagdeck.yaml

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
	@test -f $(CONFIG) || $(VENV)/bin/flagdeck init .flagdeck
	@$(VENV)/bin/flagdeck serve --config $(CONFIG) --port 8080 > .flagdeck/evaluator.log 2>&1 & echo $$! > .flagdeck/evaluator.pid
	@echo "evaluator: http://127.0.0.1:8080 (log: .flagdeck/evaluator.log)"
	-$(VENV)/bin/flagdeck console --config $(CONFIG)
	-@kill `cat .flagdeck/evaluator.pid` 2>/dev/null; rm -f .flagdeck/evaluator.pid

test: install node
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -n 2 -q

bench: install node
	$(PY) bench/run_all.py

lint: install
	$(VENV)/bin/ruff check .
