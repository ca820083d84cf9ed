"""A bounded, thread-safe LRU map whose budget is a size the caller gives with each value (bytes of
an answer, characters of a piece of XML), for the per-worker caches of the HTTP layer."""

from __future__ import annotations

import threading
from collections import OrderedDict


class SizedLRU:
    def __init__(self, max_size: int):
        self.max_size = max_size
        self.size = 0
        self._values: OrderedDict = OrderedDict()  # key -> (value, size), least recently used first
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            kept = self._values.get(key)
            if kept is None:
                return None
            self._values.move_to_end(key)
            return kept[0]

    def put(self, key, value, size: int) -> None:
        if size > self.max_size // 16:
            return  # one value may not crowd out the others
        with self._lock:
            if key in self._values:
                return
            self._values[key] = (value, size)
            self.size += size
            while self.size > self.max_size:
                self.size -= self._values.popitem(last=False)[1][1]
