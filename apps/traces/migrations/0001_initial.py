"""TraceChunk moves here from apps.telemetry; its table (telemetry_tracechunk) stays put.

State only: the table was created by telemetry 0001 and keeps its rows. The content type is
renamed, so admin permissions granted on the model keep working.
"""

import django.db.models.deletion
from django.db import migrations, models


def content_type_to_traces(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="telemetry", model="tracechunk").update(app_label="traces")


def content_type_to_telemetry(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="traces", model="tracechunk").update(app_label="telemetry")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("racing_sessions", "0001_initial"),
        ("telemetry", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TraceChunk",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("seq_start", models.BigIntegerField()),
                        ("n", models.PositiveIntegerField()),
                        ("t_start", models.FloatField()),
                        ("t_end", models.FloatField()),
                        ("data", models.BinaryField()),
                        (
                            "session",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="racing_sessions.session",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "telemetry_tracechunk",
                        "indexes": [
                            models.Index(fields=["session", "t_start"], name="telemetry_t_session_68e8f8_idx")
                        ],
                        "constraints": [
                            models.UniqueConstraint(fields=("session", "seq_start"), name="chunk_unique_seq")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_traces, content_type_to_telemetry, elidable=True),
    ]
