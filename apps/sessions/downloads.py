"""Export files of a lap or a whole session, built one way for the pages, the API and the agent.

Formats (FORMATS): `csv` and `parquet` hold the same table (lib/exports.export_table: TIME,
LAP, then ACC's channel names and units); `ld` is the MoTeC log and `ldx` its lap markers,
downloaded as two files side by side the way i2 opens them (no zip: i2 users save both
next to each other, and the agent's `export --format ld` writes both).
Callers check access first (`session_get_for_user` / `lap_get_for_user`); a trace that is
missing raises `TraceUnavailable`, which they answer with a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.text import slugify

from simcoach_site.lib.units import Units

from .lib.exports import LapMark, export_table, lap_motec_ld, laps_motec_ldx, table_csv, table_parquet
from .models import Lap, Session
from .selectors_traces import (
    ExportTrace,
    TraceUnavailable,
    export_uniform,
    lap_export_trace,
    session_export_laps,
    session_export_trace,
)

FORMATS: Final = ("csv", "parquet", "ld", "ldx")
CONTENT_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "ld": "application/octet-stream",
    "ldx": "application/xml",
}


@dataclass(frozen=True)
class Download:
    body: bytes | str | Iterator[str]  # an iterator is streamed (CSV rows)
    content_type: str
    filename: str


def lap_download(*, lap: Lap, fmt: str, driver: str, units: Units | None = None) -> Download:
    """One lap in `fmt`; the `.ld` starts on the lap's line crossing. CSV and Parquet show
    speeds, pressures and temperatures in `units` (the `.ld` keeps ACC's)."""
    _check(fmt)
    session = lap.session
    stem = f"{session.track.name} {session.car.name} lap {lap.number}"
    if fmt == "ldx":  # needs no trace: the beacons come from the lap's own times
        return _download(fmt, stem, laps_motec_ldx(_marks([lap], lap.t_start)))
    trace = lap_export_trace(lap=lap)
    facts = {"lap_id": lap.pk, "lap_number": lap.number}
    event = f"{session.get_kind_display()} lap {lap.number}"
    body = _body(fmt, session, trace, driver=driver, event=event, facts=facts, units=units)
    return _download(fmt, stem, body)


def session_download(*, session: Session, fmt: str, driver: str, units: Units | None = None) -> Download:
    """Every lap of a session in `fmt` (the `.ld` runs from the first lap's start to the
    last's end); CSV and Parquet in `units` as for `lap_download`."""
    _check(fmt)
    stem = f"{session.track.name} {session.car.name} {session.started_at:%Y-%m-%d %H%M}"
    if fmt == "ldx":  # needs no trace: the log starts at the first lap's start
        laps = session_export_laps(session=session)
        return _download(fmt, stem, laps_motec_ldx(_marks(laps, laps[0].t_start if laps else 0.0)))
    trace = session_export_trace(session=session)
    event = f"{session.get_kind_display()} {session.started_at:%Y-%m-%d}"
    body = _body(fmt, session, trace, driver=driver, event=event, facts={}, units=units)
    return _download(fmt, stem, body)


def download_response(download: Download) -> HttpResponseBase:
    """The download as an attachment; CSV is streamed row by row."""
    response: HttpResponseBase
    if isinstance(download.body, bytes | str):
        response = HttpResponse(download.body, content_type=download.content_type)
    else:
        response = StreamingHttpResponse(download.body, content_type=download.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    return response


def download_or_404(build: Callable[[], Download]) -> HttpResponseBase:
    """`download_response` of what `build` makes, or a 404 saying why there is nothing to export
    (no stored trace). The pages and the API both call it: DRF answers an Http404 as its own 404."""
    try:
        return download_response(build())
    except TraceUnavailable as exc:
        raise Http404(str(exc)) from None


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")


def _download(fmt: str, stem: str, body: bytes | str | Iterator[str]) -> Download:
    return Download(body, CONTENT_TYPES[fmt], f"{slugify(stem) or 'export'}.{fmt}")


def _body(
    fmt: str,
    session: Session,
    trace: ExportTrace,
    *,
    driver: str,
    event: str,
    facts: dict[str, Any],
    units: Units | None,
) -> bytes | Iterator[str]:
    if fmt == "csv":
        return table_csv(export_table(trace.columns, units))
    if fmt == "parquet":
        metadata = _metadata(session, trace, driver) | facts
        return table_parquet(export_table(trace.columns, units), metadata)
    columns, rate = export_uniform(trace)
    return lap_motec_ld(
        columns,
        driver=driver,
        vehicle=session.car.name,
        venue=session.track.name,
        event=event,
        session=session.get_kind_display(),
        game=session.game,
        started_at=_log_start(trace),
        rate_hz=rate,
    )


def _log_start(trace: ExportTrace) -> dt.datetime:
    return dt.datetime.fromtimestamp(trace.t0, tz=dt.UTC)


def _marks(laps: Sequence[Lap], t0: float) -> list[LapMark]:
    return [
        LapMark(
            number=lap.number,
            start_s=lap.t_start - t0,
            end_s=lap.t_end - t0,
            time_s=lap.time_ms / 1000 if lap.time_ms else None,
            valid=lap.valid,
            out_lap=lap.is_out_lap,
        )
        for lap in laps
    ]


def _metadata(session: Session, trace: ExportTrace, driver: str) -> dict[str, Any]:
    """The session's facts for a Parquet file's schema metadata (JSON)."""
    return {
        "session_id": session.pk,
        "game": session.game,
        "track": session.track.name,
        "car": session.car.name,
        "kind": session.kind,
        "driver": driver,
        "session_started_at": session.started_at.isoformat(),
        "log_started_at": _log_start(trace).isoformat(),  # TIME 0
        "laps": [
            {
                "number": lap.number,
                "time_ms": lap.time_ms,
                "timed": bool(lap.time_ms),
                "valid": lap.valid,
                "out_lap": lap.is_out_lap,
                "in_lap": lap.is_in_lap,
                "start_s": round(lap.t_start - trace.t0, 3),
                "end_s": round(lap.t_end - trace.t0, 3),
            }
            for lap in trace.laps
        ],
    }
