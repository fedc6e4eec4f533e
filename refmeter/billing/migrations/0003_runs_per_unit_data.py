import django.db.models.deletion
from django.db import migrations, models


def _problem_units(apps, problems):
    """Each old problem ("<account>：<why>") as the new record, with the unit it belongs to."""
    Point = apps.get_model("registry", "Point")
    Group = apps.get_model("registry", "Group")
    result = []
    for text in problems:
        if isinstance(text, dict):
            result.append((None, text))
            continue
        label = str(text).split("：", 1)[0]
        unit_id = (
            Point.objects.filter(account_number=label).values_list("group__unit_id", flat=True).first()
            or Group.objects.filter(meter_asset_number=label).values_list("unit_id", flat=True).first()
        )
        result.append((unit_id, {"account_number": label, "reason": "", "message": str(text)}))
    return result


def split_runs_by_unit(apps, schema_editor):
    # Runs made before billing was per unit covered every group: give each unit its own
    # run of the month with its own bills and problems, and number every bill.
    BillingRun = apps.get_model("billing", "BillingRun")
    Bill = apps.get_model("billing", "Bill")
    for run in BillingRun.objects.filter(unit__isnull=True):
        problems = _problem_units(apps, run.problems)
        unit_ids = set(run.bills.values_list("group__unit_id", flat=True))
        unit_ids |= {unit_id for unit_id, _problem in problems if unit_id is not None}
        for unit_id in unit_ids:
            unit_run = BillingRun.objects.create(
                unit_id=unit_id,
                period_start=run.period_start,
                period_end=run.period_end,
                status=run.status,
                computed_at=run.computed_at,
                computed_by_id=run.computed_by_id,
                closed_at=run.closed_at,
                problems=[problem for owner, problem in problems if owner == unit_id],
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
