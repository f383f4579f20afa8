#!/usr/bin/env bash
# The whole test suite, twice: on the embedded SQLite default, then on a real PostgreSQL 15 server that this
# script starts in a temporary folder and stops again. Exits non-zero on the first failing run.
#
#   scripts/test.sh              both runs
#   scripts/test.sh sqlite       only SQLite        scripts/test.sh postgresql   only PostgreSQL
#   PYTEST_ARGS="-k votes" scripts/test.sh          extra pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
which_runs="${1:-all}"

run_pytest() {
  local label="$1"
  echo "=== test suite on ${label} ==="
  set +e
  # shellcheck disable=SC2086
  "$PYTHON" -m pytest -p no:cacheprovider ${PYTEST_ARGS:-}
  local status=$?
  set -e
  if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests on ${label}: that is a failure here" >&2
    return 1
  fi
  return "$status"
}

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

run_on_postgresql() {
  # fsync off: a test server's data is thrown away anyway.
  start_postgresql "${SUPERVISION_TEST_PG_PORT:-55432}" fsync=off full_page_writes=off
  SUPERVISION_TEST_DATABASE_URL="$PG_URL" run_pytest "PostgreSQL $PG_VERSION"
}

case "$which_runs" in
  all) run_pytest "SQLite"; run_on_postgresql ;;
  sqlite) run_pytest "SQLite" ;;
  postgresql) run_on_postgresql ;;
  *) echo "usage: scripts/test.sh [all|sqlite|postgresql]" >&2; exit 2 ;;
esac
