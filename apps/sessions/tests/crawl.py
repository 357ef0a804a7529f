"""Every archive page and API of one session, fetched as its owner: what the crawl tests walk."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client
from django.urls import reverse

from apps.sessions.models import Lap, Session


@dataclass(frozen=True)
class Page:
    what: str
    url: str
    status: int
    body: bytes

    def __str__(self) -> str:
        head = self.body[:300].decode("utf-8", "replace")
        return f"{self.what} {self.url} -> {self.status}: {head}"


def session_urls(session: Session) -> list[tuple[str, str]]:
    """(what, url) of every page of a session and of each of its laps, plus a compare of two."""
    laps = list(Lap.objects.filter(session=session).order_by("number"))
    urls = [
        ("session list", reverse("sessions")),
        ("session list api", reverse("api-sessions")),
        ("session page", reverse("session-detail", args=[session.pk])),
        ("session api", reverse("api-session", args=[session.pk])),
        ("report page", reverse("session-report", args=[session.pk])),
    ]
    for lap in laps:
        urls += [
            (f"lap {lap.number} page", reverse("lap-detail", args=[lap.pk])),
            (f"lap {lap.number} api", reverse("api-lap", args=[lap.pk])),
            (f"lap {lap.number} channels", reverse("api-lap-channels", args=[lap.pk])),
            (f"lap {lap.number} csv", reverse("lap-export-csv", args=[lap.pk])),
            (f"lap {lap.number} ld", reverse("lap-export-ld", args=[lap.pk])),
            (f"lap {lap.number} ldx", reverse("lap-export-ldx", args=[lap.pk])),
        ]
    if len(laps) >= 2:
        pair = f"{laps[0].pk},{laps[-1].pk}"
        urls += [
            ("compare page", f"{reverse('compare')}?laps={pair}&ref={laps[-1].pk}"),
            ("compare api", f"{reverse('api-compare')}?laps={pair}"),
        ]
    return urls


def crawl(client: Client, session: Session) -> list[Page]:
    pages = []
    for what, url in session_urls(session):
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        pages.append(Page(what, url, response.status_code, body))
    return pages
