from refmeter.masterdata.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export units in the format the matching load reads."
    kind = "units"
