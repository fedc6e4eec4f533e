"""The ``refmeter`` command: Django's management commands, with dashed names allowed.

``refmeter load-demo`` runs the ``load_demo`` command; every Django command
(``migrate``, ``createsuperuser``...) is available too.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    args[0] = "refmeter"
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(args)
    except ImproperlyConfigured as error:
        sys.stderr.write(f"refmeter: configuration error: {error}\n")
        raise SystemExit(2) from error


if __name__ == "__main__":
    main()
