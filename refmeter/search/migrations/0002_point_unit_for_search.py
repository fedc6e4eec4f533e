"""On PostgreSQL, each point carries its group's unit for the search box.

A search for a fragment common in another unit only (a street name of the neighbouring
service area) used to read every matching point there and join it to its group to find
that none is the user's: tens of thousands of rows for an empty answer. Here the point
table gets a column ``search_unit_id``, kept equal to its group's unit by triggers (so
every way of writing points, the ORM, bulk loads and COPY, keeps it right), and the
trigram indexes over names and addresses lead with it (btree_gin), so the database reads
only the user's units' matches.

The column is the database's, not the model's: nothing in refmeter writes it, and only
the search selector reads it. On SQLite, or where the extensions cannot be created, the
search scopes through the group as before.
"""

from django.db import migrations

OLD_INDEXES = [
    ("search_point_name_trgm", "name"),
    ("search_point_address_trgm", "device_address"),
]
UNIT_INDEXES = [
    ("search_point_unit_name_trgm", "name"),
    ("search_point_unit_address_trgm", "device_address"),
]

COLUMN_AND_TRIGGERS = """
ALTER TABLE registry_point ADD COLUMN IF NOT EXISTS search_unit_id bigint;
UPDATE registry_point AS p SET search_unit_id = g.unit_id
  FROM registry_group AS g WHERE g.id = p.group_id;

CREATE OR REPLACE FUNCTION search_point_unit() RETURNS trigger AS $$
BEGIN
  NEW.search_unit_id := (SELECT unit_id FROM registry_group WHERE id = NEW.group_id);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS search_point_unit ON registry_point;
CREATE TRIGGER search_point_unit BEFORE INSERT OR UPDATE OF group_id ON registry_point
  FOR EACH ROW EXECUTE FUNCTION search_point_unit();

CREATE OR REPLACE FUNCTION search_group_unit() RETURNS trigger AS $$
BEGIN
  UPDATE registry_point SET search_unit_id = NEW.unit_id WHERE group_id = NEW.id;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS search_group_unit ON registry_group;
CREATE TRIGGER search_group_unit AFTER UPDATE OF unit_id ON registry_group
  FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id)
  EXECUTE FUNCTION search_group_unit();
"""

DROP_COLUMN_AND_TRIGGERS = """
DROP TRIGGER IF EXISTS search_group_unit ON registry_group;
DROP FUNCTION IF EXISTS search_group_unit();
DROP TRIGGER IF EXISTS search_point_unit ON registry_point;
DROP FUNCTION IF EXISTS search_point_unit();
ALTER TABLE registry_point DROP COLUMN IF EXISTS search_unit_id;
"""


def _btree_gin_available(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if not cursor.fetchone():
        return False  # 0001 could not create it: the search scans
    cursor.execute("SAVEPOINT search_btree_gin")
    try:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    except Exception:
        cursor.execute("ROLLBACK TO SAVEPOINT search_btree_gin")
        return False
    cursor.execute("RELEASE SAVEPOINT search_btree_gin")
    return True


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(COLUMN_AND_TRIGGERS)
        if not _btree_gin_available(cursor):
            return
        for name, column in UNIT_INDEXES:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON registry_point "
                f"USING gin (search_unit_id, (UPPER({column}::text)) gin_trgm_ops)"
            )
        for name, _column in OLD_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            for name, column in OLD_INDEXES:
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON registry_point "
                    f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
                )
        for name, _column in UNIT_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute(DROP_COLUMN_AND_TRIGGERS)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_indexes"), ("registry", "0006_retired_account_numbers")]

    operations = [migrations.RunPython(forward, backward)]
