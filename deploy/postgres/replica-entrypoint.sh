#!/bin/sh
# The compose `postgres-replica` service: a streaming replica of the `postgres` service. On its
# first start it copies the primary with pg_basebackup -R (which writes standby.signal and the
# primary_conninfo to follow), then it serves read-only queries and replays the primary's WAL.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h "$PRIMARY_HOST" -U "$PRIMARY_USER" -D "$PGDATA" -R -X stream -c fast; do
    echo "replica: waiting for the primary at $PRIMARY_HOST"
    rm -rf "${PGDATA:?}"/*  # a half-made copy would make the next try refuse
    sleep 2
  done
fi
chmod 0700 "$PGDATA"
exec postgres
