"""Importing readings: row by row with every check (any source), or a CSV file copied into
PostgreSQL and checked there (files.py), which falls back to the first when a file is not
plainly regular."""

from refmeter.readings.services.files import readings_import_file
from refmeter.readings.services.rows import (
    ReadingsImportResult,
    UnableToImportReadings,
    readings_import,
    rows_from_file,
)

__all__ = [
    "ReadingsImportResult",
    "UnableToImportReadings",
    "readings_import",
    "readings_import_file",
    "rows_from_file",
]
