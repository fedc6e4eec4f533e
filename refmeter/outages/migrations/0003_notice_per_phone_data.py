"""Notices were one per point, so a customer with many points on one number got many SMS.
Keep one notice per outage and phone (the one that reached the customer, else the first),
link every point to it, and void the repeats and the notices without a number: they stay
as the record of what was sent."""

import re

from django.db import migrations

DELIVERED = ("sent", "recorded")


def _phone(text):
    digits = re.sub(r"\D", "", (text or "").translate({code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)}))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix):]
    return digits


def forwards(apps, schema_editor):
    Notice = apps.get_model("outages", "Notice")
    NoticePoint = apps.get_model("outages", "NoticePoint")
    kept = {}
    for notice in Notice.objects.order_by("outage_id", "pk").iterator():
        phone = _phone(notice.phone)
        if not phone:
            Notice.objects.filter(pk=notice.pk).update(status="void")
            continue
        key = (notice.outage_id, phone)
        keeper = kept.get(key)
        if keeper is None or (notice.status in DELIVERED and keeper.status not in DELIVERED):
            if keeper is not None:
                Notice.objects.filter(pk=keeper.pk).update(status="void")
            kept[key] = keeper = notice
            Notice.objects.filter(pk=notice.pk).update(
                phone=phone,
                attempts=1,
                sent_at=notice.created_at if notice.status in DELIVERED else None,
            )
        else:
            Notice.objects.filter(pk=notice.pk).update(status="void")
    links = []
    for notice in Notice.objects.order_by("pk").iterator():
        phone = _phone(notice.phone)
        if not phone:
            continue
        keeper = kept[(notice.outage_id, phone)]
        links.append(
            NoticePoint(
                notice_id=keeper.pk,
                outage_id=notice.outage_id,
                point_id=notice.point_id,
                account_number=notice.account_number,
            )
        )
    NoticePoint.objects.bulk_create(links, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("outages", "0002_notice_per_phone"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
