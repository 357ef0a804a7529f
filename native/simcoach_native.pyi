# Types of the C module (simcoach_native.c), for mypy: mypy_path in pyproject.toml.
def decode_columns(
    raw: bytes, n: int, res: bytes, lo: bytes, hi: bytes, /
) -> tuple[tuple[int, ...], bytes] | None: ...
def format_lines(
    parts: tuple[bytes, ...], ints: bytes, rows: int, omit: bytes = ..., lead: int = ..., stop: int = ..., /
) -> bytes: ...
