"""Event and Process move here from messaging: state only, the tables stay where they are.

The database keeps ``messaging_event`` / ``messaging_process`` (``db_table``), their rows,
indexes and the foreign keys pointing at them; only Django's model state changes hands
(messaging 0002 removes them from messaging's state). The content types are renamed so
admin permissions and log entries follow the models.
"""

import uuid

import django.db.models.deletion
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="messaging", model__in=("event", "process")).update(
        app_label="processes"
    )


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="processes", model__in=("event", "process")).update(
        app_label="messaging"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("brands", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("messaging", "0001_initial"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Event",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("slug", models.SlugField(max_length=100)),
                        ("name", models.CharField(blank=True, max_length=200)),
                        ("kind", models.CharField(choices=[("mailer", "Mailer"), ("injector", "Injector"), ("survey", "Survey"), ("qr", "Qr")], default="mailer", max_length=16)),
                        ("parameters", models.JSONField(blank=True, default=list)),
                        ("required_consent_slug", models.CharField(blank=True, default="", max_length=100)),
                        ("settings", models.JSONField(blank=True, default=dict)),
                        ("brand", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="events", to="brands.brand")),
                        ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.tenant")),
                    ],
                    options={
                        "db_table": "messaging_event",
                        "ordering": ["slug"],
                        "constraints": [models.UniqueConstraint(fields=("tenant", "slug"), name="uniq_event_slug")],
                    },
                ),
                migrations.CreateModel(
                    name="Process",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ("kind", models.CharField(choices=[("mailer", "Mailer"), ("consent", "Consent")], max_length=16)),
                        ("original_payload", models.JSONField(blank=True, default=dict)),
                        ("status", models.CharField(choices=[("active", "Active"), ("finished", "Finished"), ("cancelled", "Cancelled")], default="active", max_length=16)),
                        ("cancelled_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("event", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to="processes.event")),
                        ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.tenant")),
                    ],
                    options={
                        "db_table": "messaging_process",
                        "verbose_name_plural": "processes",
                        "indexes": [models.Index(fields=["tenant", "status"], name="messaging_p_tenant__8fce9c_idx")],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types, elidable=True),
    ]
