from refmeter.masterdata.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export nearby index in the format the matching load reads."
    kind = "nearby_index"
