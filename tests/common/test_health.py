"""/healthz: what a monitoring system polls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError
from django.utils import timezone

from refmeter.common import health
from refmeter.common.health import worker_beat
from refmeter.common.models import WorkerBeat
from refmeter.common.workers import recover_now


@pytest.mark.django_db
class TestHealth:
    def test_without_a_worker_it_fails_and_says_which_part(self, client):
        response = client.get("/healthz")

        assert response.status_code == 503
        assert response.json() == {
            "status": "failing",
            "database": "ok",
            "migrations": "ok",
            "worker": "not seen",
            "worker_seen_at": None,
        }

    def test_a_worker_running_recovery_makes_it_healthy_without_a_login(self, client):
        recover_now(clock=timezone.now)

        response = client.get("/healthz")

        assert response.status_code == 200
        assert (response.json()["status"], response.json()["worker"]) == ("ok", "ok")
        assert WorkerBeat.objects.count() == 1

    def test_a_worker_not_seen_for_longer_than_the_window_fails(self, client, settings):
        settings.REFMETER_HEALTH_WORKER_MINUTES = 10
        worker_beat(now=timezone.now() - dt.timedelta(minutes=11), name="host:1")

        response = client.get("/healthz")

        assert (response.status_code, response.json()["worker"]) == (503, "not seen")

    def test_processes_gone_for_a_day_are_forgotten(self):
        now = timezone.now()
        worker_beat(now=now - dt.timedelta(days=2), name="old:1")

        worker_beat(now=now, name="new:2")

        assert list(WorkerBeat.objects.values_list("name", flat=True)) == ["new:2"]

    def test_an_unreachable_database_fails(self, client, monkeypatch):
        recover_now(clock=timezone.now)

        class Broken:
            def cursor(self):
                raise DatabaseError("connection refused")

        monkeypatch.setattr(health, "connection", Broken())
        response = client.get("/healthz")

        assert (response.status_code, response.json()["database"]) == (503, "unreachable")
