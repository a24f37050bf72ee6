#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the registry tests: Debian's postgresql (installed when
# missing and we are root), initdb in a temp folder owned by the postgres user, listening on
# 127.0.0.1 on a free port. Prints the URL to export as CERTREVIEW_TEST_POSTGRES_URL.
#   export CERTREVIEW_TEST_POSTGRES_URL=$(scripts/start_postgres.sh)
# Stop it with: pg_ctl -D "$DIR" stop (the folder is printed on stderr).
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
if [ -z "$bindir" ]; then
  echo "PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi

run_as=()
if [ "$(id -u)" = "0" ]; then
  run_as=(runuser -u postgres --)  # initdb refuses to run as root
fi

dir=$(mktemp -d /tmp/certreview-pg.XXXXXX)
chmod 755 "$dir"
if [ "$(id -u)" = "0" ]; then chown postgres:postgres "$dir"; fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

"${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U certreview --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
"${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off" start >&2
"${run_as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U certreview certreview_test
echo "postgres cluster in $dir (stop: ${run_as[*]} $bindir/pg_ctl -D $dir/data stop)" >&2
echo "postgresql+psycopg://certreview@127.0.0.1:$port/certreview_test"
