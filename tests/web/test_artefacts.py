"""The artefact cache is bounded (entries and bytes) and builds each key once."""

from __future__ import annotations

import threading
import time

from plateau.web.artefacts import BuildOnceCache


def test_bounded_by_entries_and_bytes():
    cache = BuildOnceCache(max_entries=3, max_bytes=10_000)
    for k in range(10):
        cache.get(k, lambda k=k: b"x" * 1000)
    assert len(cache) == 3
    cache.get("big", lambda: b"x" * 9_500)  # fits alone: evicts the rest
    assert len(cache) == 1
    cache.get("too-big", lambda: b"x" * 20_000)  # larger than the cache: served, not kept
    assert len(cache) == 1 and cache.builds == 12


def test_concurrent_requests_build_once():
    cache = BuildOnceCache()
    calls = []

    def build():
        calls.append(1)
        time.sleep(0.3)
        return "value"

    out = []
    threads = [threading.Thread(target=lambda: out.append(cache.get("k", build))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == ["value"] * 5 and len(calls) == 1
