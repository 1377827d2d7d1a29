#!/bin/sh
# The streaming replica: on its first start, copy the primary with pg_basebackup -R (which
# writes standby.signal and primary_conninfo), then run PostgreSQL as a hot standby. An
# existing data folder is started as it is: it resumes streaming where it stopped.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_basebackup --pgdata="$PGDATA" --write-recovery-conf --wal-method=stream \
        --checkpoint=fast --host="$PRIMARY_HOST" --port="${PRIMARY_PORT:-5432}" \
        --username="$REPLICATION_USER"
    do
        echo "replica: waiting for the primary at $PRIMARY_HOST"
        rm -rf "${PGDATA:?}"/*
        sleep 2
    done
    chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
