"""``$cache-control``: sets of resources a client sends once and then names by cache id.

Sets are written to a directory shared by the server's worker processes (any worker may get the
next request), readable by the service's user only, and kept in memory once read. Both are bounded
by bytes (of the sets' JSON; a parsed set takes several times that in memory): beyond ``max_bytes``
the least recently used sets go, and a set unused for ``idle_seconds`` expires.

A set is a cache, not storage: any client's new set may push out another client's older one. A
request naming a set that is gone is refused (404, ``not-found``), never answered without it, and the
client, which holds the resources, starts a new set. A server that refused new sets when full would
instead let one client lock every other out. docs/general.md says so.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import cast

import orjson

from ..errors import NotFound

_TOUCH_EVERY = 60.0  # seconds: how stale a file's last-used time may be (other workers read it to expire sets)


class ResourceCache:
    def __init__(self, directory: Path | None = None, max_bytes: int = 16 << 20, idle_seconds: float = 3600.0):
        self.directory = Path(directory) if directory else Path(tempfile.gettempdir()) / "icd10cm-tx-cache"
        self.max_bytes = max_bytes
        self.idle_seconds = idle_seconds
        # cache id -> (resources, bytes of their JSON, when last used)
        self._sets: OrderedDict[str, tuple[list[dict], int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _path(self, cache_id: str) -> Path | None:
        try:
            return self.directory / f"{uuid.UUID(cache_id)}.json"
        except ValueError:
            return None  # not an id we issued

    def start(self, resources: list[dict]) -> str:
        cache_id = str(uuid.uuid4())
        data = orjson.dumps(resources)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = cast(Path, self._path(cache_id))  # an id just issued: never None
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
        self._remember(cache_id, resources, len(data))
        self._prune_files()
        return cache_id

    def get(self, cache_id: str) -> list[dict]:
        """The resources of a set; a set that expired, was pushed out or never was is a 404."""
        now = time.time()
        with self._lock:
            kept = self._sets.get(cache_id)
            if kept is not None and now - kept[2] <= self.idle_seconds:
                self._sets.move_to_end(cache_id)
                if now - kept[2] > _TOUCH_EVERY:
                    self._touch(cache_id, now)
                    self._sets[cache_id] = (kept[0], kept[1], now)
                return kept[0]
        path = self._path(cache_id)
        try:
            if path is None or now - path.stat().st_mtime > self.idle_seconds:
                raise FileNotFoundError
            data = path.read_bytes()
            resources = orjson.loads(data)
        except (OSError, orjson.JSONDecodeError):
            raise NotFound(
                f"The cache set {cache_id} is not held here: it expired, was pushed out by newer sets, "
                "or never was. Send the resources again ($cache-control?mode=start, or tx-resource "
                "parameters)",
                expression="X-Cache-Id",
            ) from None
        self._touch(cache_id, now)
        self._remember(cache_id, resources, len(data))
        return resources

    def end(self, cache_id: str) -> None:
        with self._lock:
            self._sets.pop(cache_id, None)
        path = self._path(cache_id)
        if path is not None:
            path.unlink(missing_ok=True)

    def memory_bytes(self) -> int:
        with self._lock:
            return sum(size for _, size, _ in self._sets.values())

    def _remember(self, cache_id: str, resources: list[dict], size: int) -> None:
        with self._lock:
            self._sets[cache_id] = (resources, size, time.time())
            self._sets.move_to_end(cache_id)
            total = sum(kept for _, kept, _ in self._sets.values())
            while total > self.max_bytes and len(self._sets) > 1:
                _, (_, gone, _) = self._sets.popitem(last=False)
                total -= gone

    def _touch(self, cache_id: str, now: float) -> None:
        path = self._path(cache_id)
        if path is None:
            return
        try:
            os.utime(path, (now, now))
        except (OSError, TypeError):
            pass

    def _prune_files(self) -> None:
        """Expired files go, then the least recently used until the directory is within max_bytes."""
        now, files = time.time(), []
        for path in self.directory.glob("*.json"):
            try:
                status = path.stat()
            except FileNotFoundError:
                continue
            if now - status.st_mtime > self.idle_seconds:
                path.unlink(missing_ok=True)
            else:
                files.append((status.st_mtime, status.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files)[:-1]:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
