"""The outage SMS template, kept in versions, and the version each notice was made from.
Version 1 is the default text (the same as ``refmeter.outages.texts.DEFAULT_TEMPLATE``
on the day this migration was written; a later change of that constant does not change
what is stored)."""

import datetime as dt

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


DEFAULT_TEMPLATE = (
    "【{utility}】尊敬的{customer}：因{reason}，{window}停电，"
    "贵单位{count}个用电点受影响：{addresses}。请提前做好准备。"
)


def default_template(apps, schema_editor):
    NoticeTemplate = apps.get_model("outages", "NoticeTemplate")
    if not NoticeTemplate.objects.exists():
        NoticeTemplate.objects.create(
            version=1, text=DEFAULT_TEMPLATE, created_at=dt.datetime.now(dt.UTC)
        )


class Migration(migrations.Migration):

    dependencies = [
        ('outages', '0004_notice_per_phone_constraints'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='NoticeTemplate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField(unique=True, verbose_name='版本')),
                ('text', models.CharField(max_length=300, verbose_name='模板内容')),
                ('note', models.CharField(blank=True, max_length=200, verbose_name='修改说明')),
                ('created_at', models.DateTimeField(verbose_name='修改时间')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='修改人')),
            ],
            options={
                'verbose_name': '停电通知模板',
                'verbose_name_plural': '停电通知模板',
                'ordering': ['-version'],
            },
        ),
        migrations.AddField(
            model_name='notice',
            name='template',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='notices', to='outages.noticetemplate', verbose_name='模板版本'),
        ),
        migrations.AddConstraint(
            model_name='noticetemplate',
            constraint=models.CheckConstraint(condition=models.Q(('version__gte', 1)), name='template_version_from_1'),
        ),
        migrations.RunPython(default_template, migrations.RunPython.noop),
    ]
