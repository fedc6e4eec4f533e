"""Every role against every action of docs/permissions.md.

Each action has a probe that attempts it as a user of the role through its page or the API
(through the service where the action has no page). The attempt is allowed exactly when
``ROLES_FOR_ACTION`` says so: then it does what it does; otherwise the answer is a 403 or a
Chinese refusal, and nothing is written.

The data every probe needs is built once for the module, inside a transaction rolled back at
its end; each test runs in a savepoint of it, so no probe sees another's writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django.utils import translation

from refmeter.anomalies.models import AnomalyCase, ContactSheet
from refmeter.audit.models import AuditEntry
from refmeter.billing.models import BackBilling, BillingRun
from refmeter.common.models import Job
from refmeter.inspections.models import InspectionPlan, InspectionResult
from refmeter.labels.models import Label
from refmeter.lineloss.models import AreaEnergy
from refmeter.organisations.models import Role
from refmeter.organisations.permissions import (
    ROLES_FOR_ACTION,
    Action,
    refusal_message,
)
from refmeter.outages.models import NoticeTemplate, Outage
from refmeter.readings.models import MeterReading
from refmeter.registry.models import GroupTerms, NearbyNumber
from refmeter.workorders.models import ArchiveDocument, WorkOrder
from tests.permission_probes import PROBES
from tests.permission_world import NOW, World, world_build


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    with ExitStack() as stack:
        stack.enter_context(django_db_blocker.unblock())
        stack.enter_context(time_machine.travel(NOW, tick=False))
        stack.enter_context(
            override_settings(
                MEDIA_ROOT=str(tmp_path_factory.mktemp("files")),
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            )
        )
        stack.enter_context(translation.override("zh-hans"))
        stack.enter_context(transaction.atomic())
        try:
            yield world_build()
        finally:
            transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _in_a_savepoint(world, db):
    """Each probe in its own savepoint of the module's transaction (the ``db`` fixture)."""


WRITTEN = (AuditEntry, Job, WorkOrder, ArchiveDocument, GroupTerms, NearbyNumber, Label,
           MeterReading, AnomalyCase, ContactSheet, InspectionPlan, InspectionResult, BillingRun,
           BackBilling, AreaEnergy, Outage, NoticeTemplate)  # fmt: skip


def written() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN}


class TestTheProbes:
    def test_cover_every_action_of_the_matrix(self):
        assert {probe.action for probe in PROBES} == set(Action)


@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
@pytest.mark.parametrize("probe", PROBES, ids=[probe.name for probe in PROBES])
def test_a_role_may_do_an_action_exactly_when_the_matrix_says_so(world, client, probe, role):
    before, everything = probe.state(world), written()

    answer = probe.attempt(world, role, client)

    if role in ROLES_FOR_ACTION[probe.action]:
        assert answer.status == probe.allowed, answer.text[-2000:]
        assert probe.state(world) == probe.done(before)
        if probe.shows is not None:
            assert probe.shows(world) in answer.text
    else:
        assert answer.status == probe.refused, answer.text[-2000:]
        assert (probe.refusal or refusal_message(probe.action)) in answer.text
        assert probe.state(world) == before
        assert written() == everything
