# The ingest keeps no tables of its own: its frames are in the trace store (apps.traces).
