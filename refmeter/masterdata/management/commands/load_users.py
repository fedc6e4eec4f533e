from refmeter.masterdata.management.base import LoadCommand


class Command(LoadCommand):
    help = (
        "Load users from a spreadsheet (xlsx, xls, ods or CSV): all rows or none. New users "
        "are inactive until they set a password through the one-time link printed for each."
    )
    kind = "users"
