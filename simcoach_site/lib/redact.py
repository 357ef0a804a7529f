"""Secrets that travel in URLs, cut out of anything that logs a URL.

Share links carry their token in the path (/s/<token>/, /ws/share/<token>/), invites and the
pairing page's code ride in the query string (?invite=, ?code=). Whoever reads an access log
must not be able to watch a driver or take an invite from it.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
# A path segment after a share prefix, whatever it holds (a wrong guess is no secret, but
# telling guesses from tokens would mean parsing them here).
SECRET_SEGMENT = re.compile(r"(/(?:ws/)?s(?:hare)?/)[^/?#\s]+")
# Any token by its public prefix, wherever it appears.
PREFIXED_TOKEN = re.compile(r"(sc_(?:share|invite|rig)_)[A-Za-z0-9_-]+")
SECRET_QUERY = re.compile(r"([?&](?:code|invite|token|device_code|user_code)=)[^&#\s]*", re.IGNORECASE)


def url_redacted(url: str) -> str:
    """`url` (a path, with or without query string) with every token in it replaced."""
    url = SECRET_SEGMENT.sub(lambda m: m[1] + REDACTED, url)
    url = PREFIXED_TOKEN.sub(lambda m: m[1] + REDACTED, url)
    return SECRET_QUERY.sub(lambda m: m[1] + REDACTED, url)
