#!/bin/sh
# Runs once, when the primary's data folder is created (the postgres image runs every
# script in /docker-entrypoint-initdb.d then): a role that may stream the WAL to the replica,
# and a pg_hba.conf line letting it connect for replication with its password.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v user="$REPLICATION_USER" -v password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE :"user" WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication $REPLICATION_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
