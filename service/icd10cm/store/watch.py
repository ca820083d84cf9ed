"""Notice a new store build under a running server: the release files of the store directory,
each known by name, inode and modification time. A rebuild writes a new file and renames it over
the old one, so any rebuild changes what this sees."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def snapshot(store: Path) -> frozenset:
    found = set()
    for path in store.glob("icd10cm-*.sqlite"):
        try:
            status = path.stat()
        except FileNotFoundError:  # renamed away between the listing and the stat
            continue
        found.add((path.name, status.st_ino, status.st_mtime_ns))
    return frozenset(found)


def watch(store: Path, every: float, on_change: Callable[[], None]) -> threading.Thread:
    """Call ``on_change`` (from a daemon thread) whenever the store's release files change."""

    def run():
        seen = snapshot(store)
        stop = threading.Event()
        while not stop.wait(every):
            now = snapshot(store)
            if now != seen:
                log.warning(
                    "the store changed (%s): restarting the workers on it", ", ".join(sorted(name for name, *_ in now))
                )
                seen = now
                on_change()

    thread = threading.Thread(target=run, name="store-watch", daemon=True)
    thread.start()
    return thread
