from refmeter.masterdata.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export access points in the format the matching load reads."
    kind = "access_points"
