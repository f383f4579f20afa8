# Sourced by scripts/test.sh and bench/run.sh: start a throw-away PostgreSQL server in a temporary folder, and stop
# it again. `start_postgresql PORT [SERVER OPTION ...]` sets PG_URL (postgresql+asyncpg://...), PG_PORT and PG_VERSION;
# `stop_postgresql` (also run on exit) stops the server and removes its folder.

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

start_postgresql() {
  local first_port="$1"
  shift
  PG_BIN="$(pg_bin)" || { echo "PostgreSQL server binaries not found; install the Debian package postgresql" >&2; return 1; }
  PG_WORKDIR="$(mktemp -d /tmp/supervision-pg.XXXXXX)"
  PG_AS=()
  # The server refuses to run as root: run it as the unprivileged postgres account when we are root.
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_WORKDIR"
    PG_AS=(runuser -u postgres --)
  fi
  trap stop_postgresql EXIT
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_WORKDIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$PG_WORKDIR/initdb.log"
  local options=(-k "$PG_WORKDIR" -c listen_addresses=127.0.0.1 -c max_connections=200)
  for extra in "$@"; do options+=(-c "$extra"); done
  local port
  # A port taken by something else: try the next few.
  for port in "$first_port" $((first_port + 1)) $((first_port + 2)); do
    if "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_WORKDIR/data" -l "$PG_WORKDIR/server.log" -w -o "-p $port ${options[*]}" start >/dev/null; then
      PG_PORT="$port"
      PG_URL="postgresql+asyncpg://postgres@127.0.0.1:${port}/postgres"
      PG_VERSION="$("$PG_BIN/postgres" --version | awk '{print $3}')"
      return 0
    fi
    echo "PostgreSQL did not start on port $port; its log:" >&2
    cat "$PG_WORKDIR/server.log" >&2
  done
  return 1
}

stop_postgresql() {
  if [ -n "${PG_WORKDIR:-}" ] && [ -d "$PG_WORKDIR/data" ]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_WORKDIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_WORKDIR"
  fi
}
