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

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

run_on_postgresql() {
  local bin
  bin="$(pg_bin)" || { echo "PostgreSQL server binaries not found; install the Debian package postgresql" >&2; return 1; }
  PG_WORKDIR="$(mktemp -d /tmp/supervision-pg.XXXXXX)"
  PG_BIN="$bin"
  PG_AS=()
  local port="${SUPERVISION_TEST_PG_PORT:-55432}"
  # The server refuses to run as root: run it as the unprivileged postgres account when we are root.
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_WORKDIR"
    PG_AS=(runuser -u postgres --)
  fi
  trap stop_postgresql EXIT
  "${PG_AS[@]}" "$bin/initdb" -D "$PG_WORKDIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$PG_WORKDIR/initdb.log"
  if ! "${PG_AS[@]}" "$bin/pg_ctl" -D "$PG_WORKDIR/data" -l "$PG_WORKDIR/server.log" -w \
    -o "-p $port -k $PG_WORKDIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200" start; then
    echo "PostgreSQL did not start; its log:" >&2
    cat "$PG_WORKDIR/server.log" >&2
    return 1
  fi
  SUPERVISION_TEST_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:${port}/postgres" \
    run_pytest "PostgreSQL $("$bin/postgres" --version | awk '{print $3}')"
}

stop_postgresql() {
  if [ -n "${PG_WORKDIR:-}" ] && [ -d "$PG_WORKDIR/data" ]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_WORKDIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_WORKDIR"
  fi
}

case "$which_runs" in
  all) run_pytest "SQLite"; run_on_postgresql ;;
  sqlite) run_pytest "SQLite" ;;
  postgresql) run_on_postgresql ;;
  *) echo "usage: scripts/test.sh [all|sqlite|postgresql]" >&2; exit 2 ;;
esac
