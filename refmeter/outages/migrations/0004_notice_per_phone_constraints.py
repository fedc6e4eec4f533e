from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outages', '0003_notice_per_phone_data'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='notice',
            name='account_number',
        ),
        migrations.RemoveField(
            model_name='notice',
            name='point',
        ),
        migrations.AddIndex(
            model_name='notice',
            index=models.Index(fields=['outage', 'status'], name='notice_outage_status'),
        ),
        migrations.AddConstraint(
            model_name='notice',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'void'), _negated=True), fields=('outage', 'phone'), name='one_notice_per_phone_and_outage'),
        ),
        migrations.AddConstraint(
            model_name='notice',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'void'), models.Q(('phone', ''), _negated=True), _connector='OR'), name='notice_has_a_phone'),
        ),
        migrations.AddConstraint(
            model_name='notice',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'sending', 'recorded', 'sent', 'failed', 'unknown', 'void'])), name='notice_status_known'),
        ),
    ]
