"""Issuing account numbers for new sub-accounts."""

from __future__ import annotations

from django.utils.translation import gettext as _

from refmeter.organisations.models import SupplyUnit
from refmeter.registry.models import AccountNumberCounter, Point, RetiredAccountNumber
from refmeter.registry.services.base import UnableToIssueAccountNumbers

# ---------------------------------------------------------------- account numbers


def account_numbers_issue(*, unit: SupplyUnit, count: int) -> list[str]:
    """``count`` new account numbers of the unit: its prefix, then a rising sequence.

    Must run inside the caller's transaction; the counter row is locked so that
    two clerks never get the same number. Numbers already taken (loaded from
    the marketing system) and numbers retired with a withdrawn order are skipped.
    """
    if count <= 0:
        return []
    if not unit.account_prefix:
        raise UnableToIssueAccountNumbers(
            _("单位“%(unit)s”未设置户号前缀，无法生成户号。") % {"unit": unit.name}
        )
    width = 10 - len(unit.account_prefix)
    counter, _created = AccountNumberCounter.objects.select_for_update().get_or_create(unit=unit)
    issued: list[str] = []
    sequence = counter.last_sequence
    while len(issued) < count:
        needed = count - len(issued)
        candidates = [
            f"{unit.account_prefix}{value:0{width}d}"
            for value in range(sequence + 1, sequence + 1 + needed)
        ]
        sequence += needed
        if sequence >= 10**width:
            raise UnableToIssueAccountNumbers(
                _("单位“%(unit)s”的户号已用完。") % {"unit": unit.name}
            )
        taken = set(
            Point.objects.filter(account_number__in=candidates).values_list(
                "account_number", flat=True
            )
        ) | set(  # retired with a withdrawn order: never issued again
            RetiredAccountNumber.objects.filter(number__in=candidates).values_list(
                "number", flat=True
            )
        )
        issued.extend(number for number in candidates if number not in taken)
    counter.last_sequence = sequence
    counter.save(update_fields=["last_sequence"])
    return issued
