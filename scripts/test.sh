#!/usr/bin/env bash
# The whole Kompas test suite: lint, then pytest on SQLite and again on PostgreSQL, browser
# tests included. Installs what it needs (Debian packages when run as root), starts a
# throw-away PostgreSQL server on loopback and removes it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# tests/ops/test_redis.py starts its own redis-server (rate limits, the report queue).
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# WeasyPrint renders with Pango.
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "Missing Debian packages: ${need[*]}. Install them: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

export KOMPAS_ENV=testing
make --no-print-directory setup
.venv/bin/ruff check --quiet .
.venv/bin/mypy --follow-imports=silent app/domain app/services

# A private PostgreSQL cluster for this run only.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_dir=$(mktemp -d /tmp/kompas-pg.XXXXXX)
pg_port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then  # PostgreSQL refuses to run as root
  chown postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
stop_pg() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
trap stop_pg EXIT
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-h 127.0.0.1 -p $pg_port -k $pg_dir -F -c fsync=off -c full_page_writes=off" start >/dev/null
"$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres kompas_test

# The two runs share nothing (an in-memory SQLite, the private PostgreSQL; every server a
# test starts takes a free port), so they run side by side: one per core.
logs=$(mktemp -d /tmp/kompas-test-logs.XXXXXX)
.venv/bin/pytest -p no:cacheprovider "$@" >"$logs/sqlite" 2>&1 &
sqlite_run=$!
TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/kompas_test" \
  .venv/bin/pytest -p no:cacheprovider "$@" >"$logs/postgresql" 2>&1 &
postgresql_run=$!
status=0
wait "$sqlite_run" || status=1
wait "$postgresql_run" || status=1
echo "== pytest on SQLite"
cat "$logs/sqlite"
echo "== pytest on PostgreSQL"
cat "$logs/postgresql"
rm -rf "$logs"
exit "$status"
