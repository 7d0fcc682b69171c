"""Decision snapshots: one interface, three homes.

* :class:`MemoryDecisionStore` - the public decision aid's store: a bounded in-memory LRU, so a
  health profile typed by an anonymous visitor is never written to disk (it lives as long as the
  server process and at most ``max_entries`` snapshots);
* :class:`DecisionStore` - JSON files in a directory the user names (``plateau decide --save``);
* the clinical-records database (:class:`plateau.store.decisions.PatientDecisionStore`), for
  decisions pinned to a patient behind login, audited.

All three implement :class:`SnapshotStore` (``save(snapshot) -> id``, ``load(id)``, ``ids()``)
and identify a snapshot by :func:`snapshot_id`.

A snapshot is the plain dict of :meth:`plateau.decide.Decision.to_dict` — profile, evidence
version, plateau version, simulation seed and size, and every number shown — so a decision can
be reproduced (:func:`plateau.decide.reproduce`) and later compared with the patient's actual
course.  The id is the first 16 hex digits of the SHA-256 of the canonical JSON, so saving the
same snapshot twice gives the same id.  Writes go to a temporary file renamed into place
(nothing half-written).  The dict is storage-agnostic: a database store can keep it as one
JSON column.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from plateau.errors import PlateauError

_ID = re.compile(r"^[0-9a-f]{16}$")
DEFAULT_DIR = Path("var") / "decisions"


def snapshot_id(snapshot: dict[str, Any]) -> str:
    payload = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class SnapshotStore(Protocol):
    def save(self, snapshot: dict[str, Any]) -> str: ...

    def load(self, ident: str) -> dict[str, Any]: ...

    def ids(self) -> list[str]: ...


def _check(snapshot: dict[str, Any]) -> None:
    if "evidence_version" not in snapshot or "profile" not in snapshot:
        raise PlateauError("a decision snapshot needs evidence_version and profile")


def _check_id(ident: str) -> None:
    if not _ID.match(ident or ""):
        raise PlateauError(f"decision id {ident!r} is not 16 hexadecimal digits")


class MemoryDecisionStore:
    """Snapshots in memory only (bounded LRU of ``max_entries``); nothing touches the disk."""

    def __init__(self, max_entries: int = 1000) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def save(self, snapshot: dict[str, Any]) -> str:
        _check(snapshot)
        ident = snapshot_id(snapshot)
        frozen = json.loads(json.dumps(snapshot))  # a private copy
        with self._lock:
            self._items[ident] = frozen
            self._items.move_to_end(ident)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return ident

    def load(self, ident: str) -> dict[str, Any]:
        _check_id(ident)
        with self._lock:
            if ident not in self._items:
                raise KeyError(ident)
            self._items.move_to_end(ident)
            return json.loads(json.dumps(self._items[ident]))

    def ids(self) -> list[str]:
        with self._lock:
            return sorted(self._items)


class DecisionStore:
    """Save and load decision snapshots as JSON files in ``directory``."""

    def __init__(self, directory: str | Path = DEFAULT_DIR) -> None:
        self.directory = Path(directory)

    def save(self, snapshot: dict[str, Any]) -> str:
        _check(snapshot)
        self.directory.mkdir(parents=True, exist_ok=True)
        ident = snapshot_id(snapshot)
        target = self.directory / f"{ident}.json"
        text = json.dumps(snapshot, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ident

    def load(self, ident: str) -> dict[str, Any]:
        _check_id(ident)
        path = self.directory / f"{ident}.json"
        if not path.is_file():
            raise KeyError(ident)
        return json.loads(path.read_text(encoding="utf-8"))

    def ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if _ID.match(p.stem))
