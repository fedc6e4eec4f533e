from refmeter.masterdata.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export device types in the format the matching load reads."
    kind = "device_types"
