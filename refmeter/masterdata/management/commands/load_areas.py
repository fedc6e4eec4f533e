from refmeter.masterdata.management.base import LoadCommand


class Command(LoadCommand):
    help = "Load areas from a spreadsheet (xlsx, xls, ods or CSV): all rows or none."
    kind = "areas"
