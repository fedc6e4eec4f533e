from refmeter.masterdata.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export customers in the format the matching load reads."
    kind = "customers"
