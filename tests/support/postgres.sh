#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's packages.
#   postgres.sh start STATE_DIR   initdb in a temporary directory, start on 127.0.0.1 at a free
#                                 port, write the server's URL to STATE_DIR/url
#   postgres.sh stop STATE_DIR    stop it and remove its data
# The tests read STATE_DIR/url and make a database of their own on it for each test.
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

cmd=${1:?start or stop}
state=${2:?state directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bin/initdb" ]] || { echo "postgres.sh: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }

as_owner=()
[[ $(id -u) -eq 0 ]] && as_owner=(runuser -u postgres --)

stop() {
  [[ -f "$state/data_dir" ]] || return 0
  local data
  data=$(cat "$state/data_dir")
  "${as_owner[@]}" "$bin/pg_ctl" -D "$data/pgdata" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data" "$state/url" "$state/data_dir"
}

case "$cmd" in
  start)
    mkdir -p "$state"
    stop  # a server left by an interrupted run
    data=$(mktemp -d /tmp/switchboard-pg.XXXXXX)
    chmod 755 "$data"
    echo "$data" >"$state/data_dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$data"
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    printf '%s\n' "$password" >"$data/pw" && [[ $(id -u) -eq 0 ]] && chown postgres: "$data/pw"
    "${as_owner[@]}" "$bin/initdb" -D "$data/pgdata" -U switchboard --pwfile="$data/pw" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --no-locale >"$data/initdb.log" 2>&1 ||
      { cat "$data/initdb.log" >&2; exit 1; }
    # A free port: one nothing answers on, tried again if another process took it first.
    started=
    for _ in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 40000))
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
      # Tests make and drop many databases: no fsync, more connections than the default 100.
      if "${as_owner[@]}" "$bin/pg_ctl" -D "$data/pgdata" -l "$data/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
        start >/dev/null; then
        started=1
        break
      fi
    done
    [[ -n "$started" ]] || { cat "$data/server.log" >&2; exit 1; }
    echo "postgresql://switchboard:$password@127.0.0.1:$port/postgres" >"$state/url"
    echo "PostgreSQL on 127.0.0.1:$port (data in $data)"
    ;;
  stop) stop ;;
  *) echo "usage: postgres.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
