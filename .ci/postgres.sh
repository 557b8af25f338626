#!/usr/bin/env bash
# Starts a throw-away PostgreSQL for the queue tests (adapter/queue/pgqueue, fsepuglia serve)
# and prints `export FSEPUGLIA_TEST_POSTGRES=…` for the caller to eval. PostgreSQL refuses to
# run as root: initdb and pg_ctl run as the postgres user, in a temporary data directory,
# listening on a unix socket in that directory and on 127.0.0.1 only. Idempotent: a server
# already started by an earlier call (same directory) is reused.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
DIR="${FSEPUGLIA_PGDIR:-/tmp/fsepuglia-pg}"
PORT="${FSEPUGLIA_PGPORT:-55432}"
RUNAS=()
if [ "$(id -u)" = 0 ]; then RUNAS=(runuser -u postgres --); fi
if [ ! -f "$DIR/data/PG_VERSION" ]; then
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  "${RUNAS[@]}" "$BIN/initdb" -D "$DIR/data" -U fsepuglia --auth=trust -E UTF8 >/dev/null
fi
if ! "${RUNAS[@]}" "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
  "${RUNAS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -s \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c max_connections=200" start >&2
fi
"${RUNAS[@]}" "$BIN/psql" -h "$DIR" -p "$PORT" -U fsepuglia -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='fsepuglia_test'" | grep -q 1 ||
  "${RUNAS[@]}" "$BIN/createdb" -h "$DIR" -p "$PORT" -U fsepuglia fsepuglia_test
echo "export FSEPUGLIA_TEST_POSTGRES='postgres://fsepuglia@127.0.0.1:$PORT/fsepuglia_test?sslmode=disable'"
