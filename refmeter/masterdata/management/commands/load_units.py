from refmeter.masterdata.management.base import LoadCommand


class Command(LoadCommand):
    help = "Load units from a spreadsheet (xlsx, xls, ods or CSV): all rows or none."
    kind = "units"
