"""JSON log lines for production (one object per line on stdout)."""

import json
import logging


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class RedactUrlsFilter(logging.Filter):
    """Cut share tokens, invites and pairing codes out of a record's message (django.request
    logs every 404 and 410 with its path, and a share link that is unknown or expired is one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from simcoach_site.lib.redact import url_redacted

        message = record.getMessage()
        redacted = url_redacted(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
