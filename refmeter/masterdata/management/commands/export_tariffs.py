from refmeter.masterdata.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export tariffs in the format the matching load reads."
    kind = "tariffs"
