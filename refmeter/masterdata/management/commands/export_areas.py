from refmeter.masterdata.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export areas in the format the matching load reads."
    kind = "areas"
