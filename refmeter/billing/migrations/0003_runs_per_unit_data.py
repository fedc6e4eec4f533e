import django.db.models.deletion
from django.db import migrations, models


def split_runs_by_unit(apps, schema_editor):
    # Runs made before billing was per unit covered every group: give each unit its own
    # run of the month with its own bills, and number every bill.
    BillingRun = apps.get_model("billing", "BillingRun")
    Bill = apps.get_model("billing", "Bill")
    for run in BillingRun.objects.filter(unit__isnull=True):
        unit_ids = set(run.bills.values_list("group__unit_id", flat=True))
        for unit_id in unit_ids:
            unit_run = BillingRun.objects.create(
                unit_id=unit_id,
                period_start=run.period_start,
                period_end=run.period_end,
                status=run.status,
                computed_at=run.computed_at,
                computed_by_id=run.computed_by_id,
                closed_at=run.closed_at,
                problems=run.problems,
            )
            run.bills.filter(group__unit_id=unit_id).update(run=unit_run)
        run.delete()
    for bill in Bill.objects.filter(number__isnull=True).select_related("run"):
        bill.number = f"DF{bill.run.period_start:%Y%m}-{bill.base_account_number}"
        bill.save(update_fields=["number"])


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_runs_per_unit"),
    ]

    operations = [
        migrations.RunPython(split_runs_by_unit, migrations.RunPython.noop),
    ]
