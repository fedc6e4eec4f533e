from refmeter.masterdata.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export users in the format the matching load reads."
    kind = "users"
