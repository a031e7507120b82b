#!/usr/bin/env bash
# Makes sure a PostgreSQL server with trust auth for `postgres` answers on 127.0.0.1:5432, as
# the tests expect: uses the running one, starts an existing cluster, or installs and starts one.
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ready; then echo "PostgreSQL is up"; exit 0; fi
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
ver=$(ls /etc/postgresql | sort -V | tail -n1)
conf=/etc/postgresql/$ver/main
# Tests connect as postgres over TCP without a password, like the machines' preinstalled server.
if ! grep -q "^host all all 127.0.0.1/32 trust" "$conf/pg_hba.conf"; then
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$conf/pg_hba.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
for _ in $(seq 1 30); do ready && { echo "PostgreSQL is up"; exit 0; }; sleep 1; done
echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
