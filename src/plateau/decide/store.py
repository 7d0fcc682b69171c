"""Decision snapshots: one JSON file per decision under ``var/decisions/`` (by default).

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
from pathlib import Path
from typing import Any

from plateau.errors import PlateauError

_ID = re.compile(r"^[0-9a-f]{16}$")
DEFAULT_DIR = Path("var") / "decisions"


def snapshot_id(snapshot: dict[str, Any]) -> str:
    payload = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class DecisionStore:
    """Save and load decision snapshots as JSON files in ``directory``."""

    def __init__(self, directory: str | Path = DEFAULT_DIR) -> None:
        self.directory = Path(directory)

    def save(self, snapshot: dict[str, Any]) -> str:
        if "evidence_version" not in snapshot or "profile" not in snapshot:
            raise PlateauError("a decision snapshot needs evidence_version and profile")
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
        if not _ID.match(ident or ""):
            raise PlateauError(f"decision id {ident!r} is not 16 hexadecimal digits")
        path = self.directory / f"{ident}.json"
        if not path.is_file():
            raise KeyError(ident)
        return json.loads(path.read_text(encoding="utf-8"))

    def ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if _ID.match(p.stem))
