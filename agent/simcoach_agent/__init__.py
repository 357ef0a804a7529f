"""SimCoach rig agent: reads a sim's telemetry and streams it to a SimCoach server."""

__version__ = "0.1.0"
