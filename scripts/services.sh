#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer, in this order of preference:
#   1. DATABASE_URL / REDIS_URL (or the local defaults 127.0.0.1:5432 and :6379) already answer;
#   2. the machine's own clusters, started the way DESIGN.md section 7 says;
#   3. private servers under var/ from the installed binaries;
#   4. otherwise one sentence on how to get them, and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

pg_up() { $PY scripts/ping.py postgres >/dev/null 2>&1; }
redis_up() { $PY scripts/ping.py redis >/dev/null 2>&1; }

wait_for() { for _ in $(seq 1 50); do "$1" && return 0; sleep 0.2; done; return 1; }

if ! pg_up; then
  if [ -z "${DATABASE_URL:-}" ] && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting the machine's PostgreSQL cluster..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    wait_for pg_up || true
  fi
fi
if ! pg_up && [ -z "${DATABASE_URL:-}" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$bindir" ] && [ -x "$bindir/initdb" ]; then
    echo "Starting a private PostgreSQL under var/postgres..."
    mkdir -p var
    run_as=""
    if [ "$(id -u)" = 0 ]; then run_as="runuser -u postgres --"; chown postgres var 2>/dev/null || true; fi
    if [ ! -s var/postgres/PG_VERSION ]; then
      mkdir -p var/postgres && [ -n "$run_as" ] && chown postgres var/postgres
      $run_as "$bindir/initdb" -D var/postgres -U postgres --auth=trust >/dev/null
    fi
    $run_as "$bindir/pg_ctl" -D var/postgres -l var/postgres.log -o "-h 127.0.0.1 -p 5432 -k /tmp" start >/dev/null
    wait_for pg_up || true
  fi
fi

if ! redis_up; then
  if [ -z "${REDIS_URL:-}" ] && command -v redis-server >/dev/null 2>&1; then
    echo "Starting Redis..."
    mkdir -p var/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir "$PWD/var/redis" --logfile "$PWD/var/redis/redis.log"
    wait_for redis_up || true
  fi
fi

missing=()
pg_up || missing+=("PostgreSQL")
redis_up || missing+=("Redis")
if [ ${#missing[@]} -gt 0 ]; then
  echo "${missing[*]} not reachable: set DATABASE_URL/REDIS_URL, install them (apt-get install postgresql redis-server), or run 'docker compose -f docker/compose.yaml up postgres redis'." >&2
  exit 1
fi
