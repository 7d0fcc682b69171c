"""Expensive artefacts (the living report's HTML and PDF, decision handouts) built once per key.

:class:`BuildOnceCache` is a bounded least-recently-used cache whose values are built at most
once per key even under concurrent requests: the first caller builds (in a worker thread, never
on the event loop), the others wait for that build instead of starting their own.  Keys carry the
evidence version, so a new evidence base builds new artefacts and never serves stale ones.
Bounded by entry count and by total bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class BuildOnceCache:
    """A thread-safe LRU of at most ``max_entries`` values and ``max_bytes`` bytes in total."""

    def __init__(self, max_entries: int = 64, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._values: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.builds = 0  #: how many values were built (tests read it)

    @staticmethod
    def _size(value: Any) -> int:
        if isinstance(value, (bytes, bytearray)):
            return len(value)
        if isinstance(value, str):
            return len(value.encode("utf-8"))
        return 1024

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key][0]
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:  # one build per key; later callers wait for it
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key][0]
            value = build()
            size = self._size(value)
            with self._lock:
                self.builds += 1
                self._building.pop(key, None)
                if size <= self.max_bytes:
                    self._values[key] = (value, size)
                    self._evict()
            return value

    def _evict(self) -> None:
        total = sum(s for _v, s in self._values.values())
        while self._values and (len(self._values) > self.max_entries or total > self.max_bytes):
            _key, (_value, size) = self._values.popitem(last=False)
            total -= size

    def __len__(self) -> int:
        return len(self._values)


def artefacts(app_state) -> BuildOnceCache:
    """The app's artefact cache (one per app)."""
    cache = getattr(app_state, "artefacts", None)
    if cache is None:
        cache = app_state.artefacts = BuildOnceCache()
    return cache
