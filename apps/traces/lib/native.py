"""The ingest's C hot loops (native/), or None where they were not built.

Every caller keeps its Python path, which gives the same results more slowly; the tests run
both. A missing module is logged once, because it costs the ingest several times its CPU.
"""

import logging

log = logging.getLogger(__name__)

try:
    import simcoach_native as fast
except ImportError:  # pragma: no cover - `make venv` and the Dockerfile build it
    fast = None  # type: ignore[assignment]
    log.warning("simcoach_native is not built (pip install ./native): decoding and storing run in Python")
