"""Stock customers (存量): the base-account check list out, checked in the field, back in.

The workbook has two sheets: 基准户核查清单 (one row per running group: unit, base
account, customer, address, creation date, meter barcode and asset number, meter box
resource number, access point, area, number of points...) and 虚拟子户清单 (one row per
point of those groups). Importing it back creates the groups that are new and applies
the differences to the others through the registry's audited services, all rows or
none.
"""

from refmeter.spreadsheets.stock.export import stock_export
from refmeter.spreadsheets.stock.importing import StockResult, stock_import
from refmeter.spreadsheets.stock.layout import (
    ACTIVE_WORD,
    CANCELLED_WORD,
    GROUP_COLUMNS,
    GROUP_REQUIRED,
    GROUP_SHEET,
    MAX_ROWS,
    POINT_COLUMNS,
    POINT_REQUIRED,
    POINT_SHEET,
    Progress,
)
from refmeter.spreadsheets.stock.reading import GroupRow, PointRow, UnableToImportStock

__all__ = [
    "ACTIVE_WORD",
    "CANCELLED_WORD",
    "GROUP_COLUMNS",
    "GROUP_REQUIRED",
    "GROUP_SHEET",
    "MAX_ROWS",
    "POINT_COLUMNS",
    "POINT_REQUIRED",
    "POINT_SHEET",
    "GroupRow",
    "PointRow",
    "Progress",
    "StockResult",
    "UnableToImportStock",
    "stock_export",
    "stock_import",
]
