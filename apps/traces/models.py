from django.db import models


class TraceChunk(models.Model):
    """The `db` trace store: a run of consecutive frames as compressed columns.

    `data` is zlib(msgpack({channel: float32/float64 little-endian bytes})); one row per
    stored batch keeps writes to one INSERT and reads to one range scan per lap.
    """

    session = models.ForeignKey("racing_sessions.Session", on_delete=models.CASCADE, related_name="+")
    seq_start = models.BigIntegerField()
    n = models.PositiveIntegerField()
    t_start = models.FloatField()
    t_end = models.FloatField()
    data = models.BinaryField()

    class Meta:
        # The table keeps the name it had in apps.telemetry, so moving the model moved no data.
        db_table = "telemetry_tracechunk"
        constraints = [models.UniqueConstraint(fields=["session", "seq_start"], name="chunk_unique_seq")]
        indexes = [models.Index(fields=["session", "t_start"])]

    def __str__(self) -> str:
        return f"session {self.session_id} frames {self.seq_start}..{self.seq_start + self.n - 1}"
