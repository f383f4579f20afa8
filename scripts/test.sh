#!/usr/bin/env bash
# The whole test suite, twice: on the embedded SQLite default and on a real PostgreSQL 15 server that this
# script starts in a temporary folder and stops again. The two runs go side by side (each mostly waits on its
# database, its served processes or the browser, so two cores carry both); each run's output is kept in
# var/test-logs/ and printed whole when both have ended. Exits non-zero when either run fails.
#
#   scripts/test.sh              both runs, side by side
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
  # The slowest tests are listed at the end of each log: the suite must stay inside CI's 90 minutes.
  # shellcheck disable=SC2086
  "$PYTHON" -m pytest -p no:cacheprovider --durations=25 ${PYTEST_ARGS:-}
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

run_both() {
  local logs=var/test-logs
  mkdir -p "$logs"
  echo "=== the suite on SQLite and on PostgreSQL, side by side (progress: tail -f $logs/sqlite.log $logs/postgresql.log) ==="
  run_pytest "SQLite" >"$logs/sqlite.log" 2>&1 &
  local sqlite_pid=$!
  (run_on_postgresql) >"$logs/postgresql.log" 2>&1 &
  local postgresql_pid=$!
  local sqlite_status=0 postgresql_status=0
  wait "$sqlite_pid" || sqlite_status=$?
  wait "$postgresql_pid" || postgresql_status=$?
  cat "$logs/sqlite.log" "$logs/postgresql.log"
  echo "=== SQLite run exited $sqlite_status, PostgreSQL run exited $postgresql_status ==="
  [ "$sqlite_status" -eq 0 ] && [ "$postgresql_status" -eq 0 ]
}

case "$which_runs" in
  all) run_both ;;
  sqlite) run_pytest "SQLite" ;;
  postgresql) run_on_postgresql ;;
  *) echo "usage: scripts/test.sh [all|sqlite|postgresql]" >&2; exit 2 ;;
esac
