"""ShareLink, CoachedDriver and CoachNote move here from apps.accounts; their tables stay put.

State only: accounts 0002 made the tables and they keep their rows. The content types are
renamed, so admin permissions granted on these models keep working.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ("sharelink", "coacheddriver", "coachnote")


def content_types_to_sharing(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="accounts", model__in=MODELS).update(app_label="sharing")


def content_types_to_accounts(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="sharing", model__in=MODELS).update(app_label="accounts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0002_sharing"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("racing_sessions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ShareLink",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[("live_rig", "Live view of a rig"), ("session", "One session")],
                                max_length=10,
                            ),
                        ),
                        ("token_hash", models.CharField(max_length=64, unique=True)),
                        (
                            "token_hint",
                            models.CharField(
                                help_text="Last characters of the token, to tell links apart", max_length=8
                            ),
                        ),
                        (
                            "label",
                            models.CharField(
                                blank=True, help_text="Who it is for; shown as the author of notes", max_length=80
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("expires_at", models.DateTimeField(blank=True, help_text="Empty: never expires", null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("use_count", models.PositiveIntegerField(default=0)),
                        (
                            "owner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="share_links",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "rig",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="share_links",
                                to="accounts.rig",
                            ),
                        ),
                        (
                            "session",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="share_links",
                                to="racing_sessions.session",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_sharelink",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="CoachNote",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("author", models.CharField(max_length=80)),
                        ("text", models.CharField(max_length=280)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "session",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="coach_notes",
                                to="racing_sessions.session",
                            ),
                        ),
                        (
                            "share_link",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notes",
                                to="sharing.sharelink",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_coachnote",
                        "ordering": ["created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="CoachedDriver",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("nickname", models.CharField(blank=True, max_length=80)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "coach",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="coached_drivers",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "share_link",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="coaches",
                                to="sharing.sharelink",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_coacheddriver",
                        "ordering": ["nickname", "-created_at"],
                    },
                ),
                migrations.AddConstraint(
                    model_name="sharelink",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind", "live_rig"), ("rig__isnull", False), ("session__isnull", True)),
                            models.Q(("kind", "session"), ("rig__isnull", True), ("session__isnull", False)),
                            _connector="OR",
                        ),
                        name="sharelink_names_one_target",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="coacheddriver",
                    constraint=models.UniqueConstraint(
                        fields=("coach", "share_link"), name="coached_driver_unique_link"
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_sharing, content_types_to_accounts, elidable=True),
    ]
