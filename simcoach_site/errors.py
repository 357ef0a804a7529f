"""What error pages and error reports may show of the settings."""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

MASK = SafeExceptionReporterFilter.cleansed_substitute
# Django's own list (API, TOKEN, KEY, SECRET, PASS, ...) plus the service URLs, which carry their
# password inside (redis://:pw@host, postgres://user:pw@host, http://user:pw@influx).
HIDDEN = re.compile(
    SafeExceptionReporterFilter.hidden_settings.pattern
    + r"|DATABASE_URL|REDIS_URL|BROKER_URL|INFLUX_URL|DSN",
    flags=re.IGNORECASE,
)
URL_WITH_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]+)(?P<tail>@)", re.I
)


class SecretsHidingFilter(SafeExceptionReporterFilter):
    """Masks the settings Django masks, the service URL settings, and the password of any URL
    found in another setting (CACHES' LOCATION and the channel layer's hosts repeat REDIS_URL)."""

    hidden_settings = HIDDEN

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str) and cleansed != MASK:
            return url_password_masked(cleansed)
        return cleansed


def url_password_masked(text: str) -> str:
    """`text` with the password of every URL in it replaced by the mask."""
    return URL_WITH_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], text)
