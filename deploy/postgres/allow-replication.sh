#!/bin/sh
# Run once by the postgres image when it creates the primary's database (docker-entrypoint-initdb.d):
# let the compose network's replica copy the primary and stream its WAL. ("all" in pg_hba.conf
# does not cover replication connections.) A volume created before this line existed needs it
# added by hand, or `docker compose down -v` to start afresh.
echo "host replication $POSTGRES_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
