#!/usr/bin/env bash
# Every benchmark, on the embedded SQLite default and then on a PostgreSQL server started for the run (fsync on,
# as in production). Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

for script in bench/registry.py bench/patrols.py bench/flags.py bench/assessment.py bench/pack.py bench/pages.py bench/mixed_load.py bench/care.py; do
  echo "=== $script on SQLite ==="
  "$PYTHON" "$script"
done
start_postgresql "${SUPERVISION_BENCH_PG_PORT:-55442}"
for script in bench/registry.py bench/patrols.py bench/flags.py bench/assessment.py bench/pack.py bench/pages.py bench/mixed_load.py bench/care.py; do
  echo "=== $script on PostgreSQL $PG_VERSION ==="
  database="bench_$(date +%s%N)"
  "$PG_BIN/psql" "postgresql://postgres@127.0.0.1:${PG_PORT}/postgres" -qc "CREATE DATABASE $database"
  SUPERVISION_BENCH_DATABASE_URL="${PG_URL%/postgres}/$database" "$PYTHON" "$script"
done
# The city morning (locust, 1, 2 and 4 web workers, PostgreSQL only): locust is installed apart from the system.
LOCUST="${LOCUST:-$(command -v locust || true)}"
if [ -z "$LOCUST" ] && [ -x var/locust/bin/locust ]; then LOCUST=var/locust/bin/locust; fi
if [ -n "$LOCUST" ]; then
  echo "=== bench/city_morning.py on PostgreSQL $PG_VERSION ==="
  database="bench_city_$(date +%s%N)"
  "$PG_BIN/psql" "postgresql://postgres@127.0.0.1:${PG_PORT}/postgres" -qc "CREATE DATABASE $database"
  SUPERVISION_BENCH_DATABASE_URL="${PG_URL%/postgres}/$database" LOCUST="$LOCUST" "$PYTHON" bench/city_morning.py
else
  echo "=== bench/city_morning.py skipped: install locust apart (python3 -m venv var/locust && var/locust/bin/pip install locust) ==="
fi
