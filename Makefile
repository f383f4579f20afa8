# The two commands of the README. Both make the virtual environment in .venv if it is missing.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgresql bench clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: migrate the SQLite database under var/, load the demo district, serve http://127.0.0.1:8000
run: $(STAMP)
	$(VENV)/bin/supervision run

## test: install the Debian packages the suite needs (when missing), then the whole suite on SQLite and on a
## PostgreSQL server started for the run, side by side
test: $(STAMP)
	scripts/system-packages.sh
	scripts/test.sh all

test-sqlite: $(STAMP)
	scripts/system-packages.sh
	scripts/test.sh sqlite

test-postgresql: $(STAMP)
	scripts/system-packages.sh
	scripts/test.sh postgresql

## typecheck: mypy, strict, over every product package ([tool.mypy] in pyproject.toml)
.PHONY: typecheck
typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: $(STAMP)
	bench/run.sh

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
