# The two commands of the README. Both make the virtual environment in .venv if it is missing.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# The lock: every package .venv gets (the [test] extra included, and setuptools, which builds the editable
# install), each pinned to one version with the sha256 of its files. pyproject.toml keeps the ranges for people
# who pip-install the package; make and .ci/run install from this file only, with plain pip.
LOCK := requirements.lock
# `make lock` writes it with `uv pip compile` (uv pinned here, installed from PyPI into .venv), chosen over
# pip-tools because: it resolves one universal lock, with markers, for every platform and Python >= 3.11
# (pip-compile resolves only for the machine and interpreter it runs on); it reads PyPI alone and ignores the
# local pip configuration, so a mirror, find-links folder or constraint file on one machine cannot leak into the
# lock; it is one binary with no dependencies, so it does not break with the next pip release as pip-tools (which
# imports pip's internals) has; and its output is a plain requirements file with hashes that pip installs in
# --require-hashes mode, so installing needs nothing but pip.
UV_VERSION := 0.13.9

.PHONY: run test test-sqlite test-postgresql system-packages bench clean lock

# Rebuilt when the lock or pyproject.toml changes. --no-deps: the lock is the whole set; --no-build-isolation: the
# editable install of the package itself is built with the locked setuptools, not one fetched at build time.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(VENV)/bin/python -m pip check
	touch $(STAMP)

## lock: resolve pyproject.toml's ranges (with the [test] extra) and its build requirements again into $(LOCK)
lock:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	$(VENV)/bin/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
	  | $(VENV)/bin/uv pip compile --quiet pyproject.toml - --extra test --universal --python-version 3.11 \
	      --generate-hashes --custom-compile-command 'make lock' --output-file $(LOCK)

## run: migrate the SQLite database under var/, load the demo district, serve http://127.0.0.1:8000
run: $(STAMP)
	$(VENV)/bin/supervision run

## test: install the Debian packages the suite needs (when missing), then the whole suite on SQLite and on a
## PostgreSQL server started for the run, side by side
test: system-packages $(STAMP)
	scripts/test.sh all

test-sqlite: system-packages $(STAMP)
	scripts/test.sh sqlite

test-postgresql: system-packages $(STAMP)
	scripts/test.sh postgresql

# First, before .venv is made: without root and with a package missing, make test stops at once.
system-packages:
	scripts/system-packages.sh

## typecheck: mypy, strict, over every product package ([tool.mypy] in pyproject.toml)
.PHONY: typecheck
typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: $(STAMP)
	bench/run.sh

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
