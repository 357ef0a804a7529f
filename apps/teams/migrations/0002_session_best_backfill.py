"""Every existing session's best green lap, for the leaderboards (later laps keep it by hook)."""

from django.db import migrations

from apps.sessions.lib.stats import best_lap, lap_value


def backfill(apps, schema_editor):
    session_model = apps.get_model("racing_sessions", "Session")
    lap_model = apps.get_model("racing_sessions", "Lap")
    best_model = apps.get_model("teams", "SessionBest")
    for session_id in session_model.objects.values_list("pk", flat=True).iterator():
        laps = {lap.pk: lap for lap in lap_model.objects.filter(session_id=session_id)}
        best = best_lap(lap_value(lap) for lap in laps.values())
        if best is not None and best.key is not None and best.time_ms is not None:
            best_model.objects.create(
                session_id=session_id,
                lap_id=best.key,
                time_ms=best.time_ms,
                number=best.number,
                set_at=laps[best.key].ended_at,
            )


class Migration(migrations.Migration):
    dependencies = [("teams", "0001_initial")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
