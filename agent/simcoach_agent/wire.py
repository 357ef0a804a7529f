"""The uplink wire format, shared by the agent (encode) and the server (decode).

A batch is a msgpack map ``{"type": "frames", "seq": first_seq, "n": count, "z": blob}``
where ``blob`` is zlib(msgpack({channel_id: column})). Each column holds the channel's values
quantised to its resolution as integers, first value absolute and the rest as deltas: smooth
60 Hz signals then become runs of tiny integers that msgpack stores in one byte and zlib
squeezes further. Frames ``seq .. seq+n-1`` are numbered consecutively.
"""

from __future__ import annotations

import zlib
from collections.abc import Container
from operator import itemgetter, sub
from typing import Any, Final

import msgpack

from .channels import CHANNEL_ID, CHANNELS, REQUIRED, Frame, QFrame

PROTOCOL_VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 256 * 1024  # compressed, on the wire
MAX_INFLATED_BYTES: Final = 2 * 1024 * 1024  # guards against zip bombs
MAX_FRAMES_PER_BATCH: Final = 600  # ten seconds at 60 Hz, what a spool replay sends at once

# WebSocket close codes (4000-4999 are free for applications), HTTP's numbers plus 4000. The
# server's browser sockets use the same ones; this is the one place they are named.
CLOSE_PROTOCOL_ERROR: Final = 4400
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_REVOKED: Final = 4403
CLOSE_NOT_FOUND: Final = 4404
CLOSE_GONE: Final = 4410  # a share link that expired or was revoked
CLOSE_TOO_BIG: Final = 4413
CLOSE_VERSION: Final = 4426
CLOSE_TOO_MANY: Final = 4429  # too many wrong tokens from one address: wait, then retry
CLOSE_SERVER_ERROR: Final = 1011  # RFC 6455: "unexpected condition"
CLOSE_TRY_AGAIN: Final = 1013  # RFC 6455: "try again later"


class WireError(ValueError):
    """A message that does not follow the protocol; its text is the close reason, ``code``
    the close code (4400 unless said otherwise)."""

    def __init__(self, reason: str, code: int = CLOSE_PROTOCOL_ERROR) -> None:
        super().__init__(reason)
        self.code = code


def encode_batch(seq: int, frames: list[Frame]) -> bytes:
    """Pack consecutive frames starting at sequence number ``seq`` into one message."""
    return encode_quantised(seq, [quantise(f) for f in frames])


def quantise(frame: Frame) -> QFrame:
    """A frame at the wire's resolution: {channel id: integer}. Unknown channels and values
    that are not finite are left out (encode_quantised then drops that channel's column)."""
    out: QFrame = {}
    for name, value in frame.items():
        spec = _RES.get(name)
        if spec is not None:
            try:
                out[spec[0]] = round(value / spec[1])
            except (ValueError, OverflowError):  # NaN, infinity
                continue
    return out


def encode_quantised(seq: int, frames: list[QFrame]) -> bytes:
    """``encode_batch`` for frames already at the wire's resolution (what the spool holds).

    A channel missing from some frames is dropped from the whole batch. The columns are built
    row-wise in C (itemgetter, map, zip) instead of per value in Python: at 60 Hz this is the
    agent's busiest loop.
    """
    ids = sorted(set(frames[0]).intersection(*frames[1:])) if frames else []
    if ids:
        get = itemgetter(*ids)
        rows = [get(f) for f in frames] if len(ids) > 1 else [(f[ids[0]],) for f in frames]
        # first row absolute, then each row minus the one before: columns of deltas once zipped
        deltas = [rows[0], *(tuple(map(sub, b, a)) for a, b in zip(rows, rows[1:], strict=False))]
        # msgpack packs a tuple exactly like a list: the same bytes as columns built as lists
        cols: dict[int, tuple[int, ...]] = dict(zip(ids, zip(*deltas, strict=True), strict=True))
    else:
        cols = {}
    body = zlib.compress(msgpack.packb(cols), 6)
    return msgpack.packb({"type": "frames", "seq": seq, "n": len(frames), "z": body})


# channel name -> (wire id, resolution): one dict lookup per value
_RES: Final = {c.name: (CHANNEL_ID[c.name], c.resolution) for c in CHANNELS}


def encode_control(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message)


def decode_message(data: bytes) -> dict[str, Any]:
    """Parse one uplink message; raise WireError with a human reason if it is malformed."""
    check_size(len(data))
    try:
        msg = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except UnicodeDecodeError:
        raise WireError("strings must be valid UTF-8 (no lone surrogates)") from None
    except Exception as exc:  # msgpack raises a zoo of types for garbage input
        raise WireError(f"not msgpack: {type(exc).__name__}") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise WireError("message must be a map with a string 'type'")
    return msg


def check_size(size: int) -> None:
    """Refuse a message of ``size`` bytes over the limit with 4413 (before reading it)."""
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES}", CLOSE_TOO_BIG)


def decode_batch(msg: dict[str, Any]) -> tuple[int, int, dict[str, list[float]]]:
    """Validate a frames message; return (first_seq, n, {channel: values in its unit})."""
    seq, n, cols = batch_columns(msg)
    out: dict[str, list[float]] = {}
    for cid, column in cols.items():
        name, values = _decode_column(cid, column, n)
        out[name] = values
    check_required(out)
    return seq, n, out


def batch_columns(msg: dict[str, Any], *, use_list: bool = True) -> tuple[int, int, dict[Any, Any]]:
    """Check a frames message's header and inflate its body; the columns are still unchecked.

    The server decodes the columns itself, vectorised (apps/telemetry/lib/uplink.py), with the
    same rules as `_decode_column`: the agent must not depend on numpy. It asks for the
    columns as tuples (`use_list=False`), which msgpack builds about four times faster.
    """
    seq, n, body = batch_body(msg)
    return seq, n, _unpack(body, use_list)


def batch_body(msg: dict[str, Any]) -> tuple[int, int, bytes]:
    """Check a frames message's header; return (seq, n, the inflated body, still msgpack)."""
    seq, n, blob = msg.get("seq"), msg.get("n"), msg.get("z")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**53:
        raise WireError("'seq' must be an integer in [0, 2**53)")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_FRAMES_PER_BATCH:
        raise WireError(f"'n' must be an integer in [1, {MAX_FRAMES_PER_BATCH}]")
    if not isinstance(blob, bytes):
        raise WireError("'z' must be bytes")
    return seq, n, _inflate(blob)


def check_required(names: Container[str]) -> None:
    missing = [r for r in REQUIRED if r not in names]
    if missing:
        raise WireError(f"batch lacks required channels: {', '.join(missing)}")


def _inflate(blob: bytes) -> bytes:
    try:
        d = zlib.decompressobj()
        raw = d.decompress(blob, MAX_INFLATED_BYTES)
    except Exception as exc:
        raise WireError(f"batch body is corrupt: {type(exc).__name__}") from None
    if d.unconsumed_tail:
        raise WireError("batch inflates past the size limit")
    return raw


def _unpack(raw: bytes, use_list: bool) -> dict[Any, Any]:
    try:
        cols = msgpack.unpackb(raw, raw=False, strict_map_key=False, use_list=use_list)
    except Exception as exc:
        raise WireError(f"batch body is corrupt: {type(exc).__name__}") from None
    if not isinstance(cols, dict):
        raise WireError("batch body must be a map of channel id to column")
    return cols


def _decode_column(cid: Any, column: Any, n: int) -> tuple[str, list[float]]:
    if not _is_int(cid) or not 0 <= cid < len(CHANNELS):
        raise WireError(f"unknown channel id {cid!r}")
    ch = CHANNELS[cid]
    if not isinstance(column, list) or len(column) != n:
        raise WireError(f"channel {ch.name}: expected {n} values")
    if not all(_is_int(v) for v in column):
        raise WireError(f"channel {ch.name}: values must be integers (quantised)")
    values: list[float] = []
    acc = 0
    for delta in column:
        acc += delta
        v = acc * ch.resolution if ch.kind == "f" else float(acc)
        if not ch.lo <= v <= ch.hi:
            raise WireError(f"channel {ch.name}: value {v:g} outside [{ch.lo:g}, {ch.hi:g}]")
        values.append(v)
    return ch.name, values


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
