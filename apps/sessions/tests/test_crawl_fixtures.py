"""Import every real recording the importer accepts and fetch every archive page of it: 200s.

Formats the importer refuses today (a `.ibt` before its importer lands, an `.ldx` alone, a
game we do not know) are skipped by the importer's own word, so a new importer is crawled
the day it accepts its files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from apps.sessions.services_import import ImportRejected, session_import

from .crawl import crawl

pytestmark = [pytest.mark.django_db, pytest.mark.fixtures, pytest.mark.usefixtures("isolated_trace_store")]

# What the import form asks for when a file does not say it (Garage 61 names no track).
ASK = {"game": "acc", "track": "Unknown track", "car": "Unknown car", "kind": "practice"}
SKIP_SUFFIXES = (".md", ".ldx", ".bin")  # notes, sidecars and single UDP packets: not sessions


def _recordings() -> list[str]:
    import os

    root = Path(
        os.environ.get("SIMCOACH_FIXTURES") or Path(__file__).resolve().parents[4] / "shared" / "fixtures"
    )
    if not root.is_dir():
        return ["(no fixtures)"]
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(SKIP_SUFFIXES)
    )


def _import(owner, path: Path):  # type: ignore[no-untyped-def]
    sidecar = path.with_suffix(".ldx")
    ldx = sidecar.read_bytes() if path.suffix == ".ld" and sidecar.exists() else None
    missing: list[str] = []
    with path.open("rb") as f:
        try:
            return session_import(owner=owner, fileobj=f, filename=path.name, ldx=ldx)
        except ImportRejected as exc:
            if not exc.missing:
                raise
            missing = exc.missing
    with path.open("rb") as f:
        return session_import(
            owner=owner, fileobj=f, filename=path.name, ldx=ldx, **{k: ASK[k] for k in missing}
        )


@pytest.mark.parametrize("name", _recordings())
def test_it_serves_every_page_of_an_imported_recording(
    name: str, client: Client, driver, fixtures_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    try:
        outcome = _import(driver, fixtures_dir / name)
    except ImportRejected as exc:
        pytest.skip(f"the importer refuses {name} today: {exc}")
    client.force_login(driver)
    pages = crawl(client, outcome.session)
    assert len(pages) >= 5 + 6 * outcome.session.laps.count()
    bad = [str(p) for p in pages if p.status != 200]
    assert not bad, "\n".join(bad)
