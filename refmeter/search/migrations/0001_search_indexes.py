"""Indexes for the search box.

Exact numbers and number prefixes use btree indexes (account, access point, area and meter
asset numbers are unique and so indexed already; the meter barcode gets one here). On
PostgreSQL, fragments of names and addresses use pg_trgm GIN indexes over
``UPPER(column::text)``, the expression Django's ``icontains`` compares; where the
extension cannot be created the search still works, by scanning.
"""

from django.db import migrations

TRIGRAM_INDEXES = [
    ("search_point_name_trgm", "registry_point", "name"),
    ("search_point_address_trgm", "registry_point", "device_address"),
    ("search_customer_name_trgm", "registry_customer", "name"),
    ("search_accesspoint_name_trgm", "registry_accesspoint", "name"),
    ("search_area_name_trgm", "registry_transformerarea", "name"),
]


def _trigram_available(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if cursor.fetchone():
        return True
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    if not cursor.fetchone():
        return False
    cursor.execute("SAVEPOINT search_trgm")
    try:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:
        # Not allowed to (the role lacks CREATE on the database): searches scan instead.
        cursor.execute("ROLLBACK TO SAVEPOINT search_trgm")
        return False
    cursor.execute("RELEASE SAVEPOINT search_trgm")
    return True


def create_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS search_group_barcode ON registry_group (meter_barcode)"
        )
        if connection.vendor != "postgresql" or not _trigram_available(cursor):
            return
        for name, table, column in TRIGRAM_INDEXES:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
            )


def drop_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, _table, _column in TRIGRAM_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute("DROP INDEX IF EXISTS search_group_barcode")


class Migration(migrations.Migration):
    dependencies = [("registry", "0005_versions")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
