#!/usr/bin/env bash
# Back up a refmeter database and its stored files, restore both elsewhere, and check that
# the copy holds the same rows and files and answers as a working system.
#
#   scripts/restore_check.sh [postgres://user@host:port]
#
# Uses two scratch databases (refmeter_restore_source, refmeter_restore_copy) on that
# server, which it drops first and last. Prints one line per check and exits non-zero on
# the first difference.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER="${1:-postgres://postgres@127.0.0.1:5432}"
SOURCE="refmeter_restore_source"
COPY="refmeter_restore_copy"
WORK="$(mktemp -d)"
REFMETER="${REFMETER_BIN:-.venv/bin/refmeter}"
trap 'rm -rf "$WORK"; psql -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS $SOURCE" -c "DROP DATABASE IF EXISTS $COPY" >/dev/null 2>&1 || true' EXIT

say() { printf '%s\n' "$*"; }

psql -q "$SERVER/postgres" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $SOURCE" -c "DROP DATABASE IF EXISTS $COPY" -c "CREATE DATABASE $SOURCE" >/dev/null

say "1. a system with data: the demo city on $SOURCE"
export REFMETER_STORAGE_DIR="$WORK/files"
DATABASE_URL="$SERVER/$SOURCE" "$REFMETER" load-demo --if-empty >/dev/null
# A stored file, as archive documents and label PDFs are: the restore must bring it back.
mkdir -p "$REFMETER_STORAGE_DIR/archive"
head -c 65536 /dev/urandom >"$REFMETER_STORAGE_DIR/archive/signed-contract.pdf"

say "2. backup: pg_dump (custom format) and a tar of the stored files"
started=$(date +%s)
pg_dump --format=custom --no-owner --file="$WORK/refmeter.dump" "$SERVER/$SOURCE"
tar -C "$REFMETER_STORAGE_DIR" -czf "$WORK/files.tar.gz" .
say "   dump $(du -h "$WORK/refmeter.dump" | cut -f1), files $(du -h "$WORK/files.tar.gz" | cut -f1), $(( $(date +%s) - started )) s"

say "3. restore into $COPY and a new files folder"
started=$(date +%s)
psql -q "$SERVER/postgres" -c "CREATE DATABASE $COPY" >/dev/null
pg_restore --no-owner --exit-on-error --dbname="$SERVER/$COPY" "$WORK/refmeter.dump"
mkdir -p "$WORK/restored-files"
tar -C "$WORK/restored-files" -xzf "$WORK/files.tar.gz"
say "   $(( $(date +%s) - started )) s"

say "4. checks"
counts() {
    psql -At "$SERVER/$1" -c "
        SELECT 'groups', count(*) FROM registry_group
        UNION ALL SELECT 'points', count(*) FROM registry_point
        UNION ALL SELECT 'readings', count(*) FROM readings_meterreading
        UNION ALL SELECT 'audit entries', count(*) FROM audit_auditentry
        UNION ALL SELECT 'users', count(*) FROM organisations_user
        UNION ALL SELECT 'work orders', count(*) FROM workorders_workorder
        ORDER BY 1"
}
if [ "$(counts "$SOURCE")" != "$(counts "$COPY")" ]; then
    say "   rows differ:"; diff <(counts "$SOURCE") <(counts "$COPY") || true; exit 1
fi
say "   same rows: $(counts "$COPY" | tr '\n' ' ')"
if ! diff -r "$REFMETER_STORAGE_DIR" "$WORK/restored-files" >/dev/null; then
    say "   stored files differ"; exit 1
fi
say "   same stored files: $(find "$WORK/restored-files" -type f | wc -l) files"
DATABASE_URL="$SERVER/$COPY" "$REFMETER" migrate --check >/dev/null
say "   migrations: all applied on the copy"
DATABASE_URL="$SERVER/$COPY" "$REFMETER" stats --format json >"$WORK/stats.json"
DATABASE_URL="$SERVER/$SOURCE" "$REFMETER" stats --format json >"$WORK/stats-source.json"
cmp -s "$WORK/stats.json" "$WORK/stats-source.json" || { say "   statistics differ"; exit 1; }
say "   the copy answers: active points $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$WORK/stats.json"), same statistics as the source"
say "restore check passed"
