from refmeter.masterdata.management.base import LoadCommand


class Command(LoadCommand):
    help = "Load device types from a spreadsheet (xlsx, xls, ods or CSV): all rows or none."
    kind = "device_types"
