"""Event and Process leave messaging's state for ``processes`` (processes 0001): the
foreign keys of templates and messages are re-pointed and the two models removed from the
state only; no table, row, index or constraint changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0001_initial"),
        ("processes", "0001_initial"),
        # Consent.process must point at processes.Process before messaging.Process goes.
        ("consents", "0003_process_moved_to_processes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="emailtemplate",
                    name="event",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="email_templates", to="processes.event"),
                ),
                migrations.AlterField(
                    model_name="smstemplate",
                    name="event",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="sms_templates", to="processes.event"),
                ),
                migrations.AlterField(
                    model_name="rcstemplate",
                    name="event",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="rcs_templates", to="processes.event"),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="event",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to="processes.event"),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="process",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="messages", to="processes.process"),
                ),
                migrations.DeleteModel(name="Process"),
                migrations.DeleteModel(name="Event"),
            ],
        ),
    ]
