"""Objects that live once per running event loop (a Daphne process has one; tests have many)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_loop(make: Callable[[], T]) -> Callable[[], T]:
    """A getter for the running loop's instance, made on first use and dropped with its loop:
    asyncio futures, tasks and locks belong to one loop, so a process-wide one would break
    under a second loop."""
    instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get() -> T:
        loop = asyncio.get_running_loop()
        instance = instances.get(loop)
        if instance is None:
            instance = instances[loop] = make()
        return instance

    return get
