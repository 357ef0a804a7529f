"""ShareLink, CoachedDriver and CoachNote now belong to apps.sharing (sharing 0001); the tables
and their rows stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_signup_invite"),
        ("sharing", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="CoachedDriver"),
                migrations.DeleteModel(name="CoachNote"),
                migrations.DeleteModel(name="ShareLink"),
            ],
            database_operations=[],
        ),
    ]
