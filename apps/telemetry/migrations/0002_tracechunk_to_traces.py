"""TraceChunk now belongs to apps.traces (traces 0001); the table and its rows stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0001_initial"),
        ("traces", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="TraceChunk")],
            database_operations=[],
        ),
    ]
