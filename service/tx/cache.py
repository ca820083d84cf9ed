"""``$cache-control``: sets of resources a client sends once and then names by cache id.

Sets are written to a directory shared by the server's worker processes (any worker may get the
next request), and kept in memory once read. Bounded: beyond ``max_sets`` the oldest set goes.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

import orjson


class ResourceCache:
    def __init__(self, directory: Path | None = None, max_sets: int = 64):
        self.directory = Path(directory) if directory else Path(tempfile.gettempdir()) / "icd10cm-tx-cache"
        self.max_sets = max_sets
        self._sets: OrderedDict[str, list[dict]] = OrderedDict()
        self._lock = threading.Lock()

    def _path(self, cache_id: str) -> Path | None:
        try:
            return self.directory / f"{uuid.UUID(cache_id)}.json"
        except ValueError:
            return None  # not an id we issued

    def start(self, resources: list[dict]) -> str:
        cache_id = str(uuid.uuid4())
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(cache_id)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(resources))
        os.replace(temporary, path)
        self._remember(cache_id, resources)
        files = sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for old in files[:-self.max_sets]:
            old.unlink(missing_ok=True)
        return cache_id

    def _remember(self, cache_id: str, resources: list[dict]) -> None:
        with self._lock:
            self._sets[cache_id] = resources
            while len(self._sets) > self.max_sets:
                self._sets.popitem(last=False)

    def get(self, cache_id: str) -> list[dict]:
        with self._lock:
            if cache_id in self._sets:
                return self._sets[cache_id]
        path = self._path(cache_id)
        if path is None or not path.exists():
            return []
        try:
            resources = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return []
        self._remember(cache_id, resources)
        return resources

    def end(self, cache_id: str) -> None:
        with self._lock:
            self._sets.pop(cache_id, None)
        path = self._path(cache_id)
        if path is not None:
            path.unlink(missing_ok=True)
