"""The bench's sample of a store: random codes and text queries as people type them (used by run.py and
search_speed.py; it imports nothing of the service, so it serves any checkout)."""

from __future__ import annotations

import random
import re
import sqlite3
from pathlib import Path


def sample(store: Path, count: int) -> tuple[list[str], list[str]]:
    """Random codes (a quarter dotless, as claim files write them), and text queries: the first
    one or two words of random titles, cut to 3-7 letters, as people type them."""
    release = sorted(store.glob("icd10cm-*.sqlite"))[-1]
    with sqlite3.connect(f"file:{release}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT code, display FROM concept").fetchall()
    rng = random.Random(20261121)
    picked = rng.sample(rows, count)
    codes = [c.replace(".", "") if i % 4 == 0 else c for i, (c, _) in enumerate(picked)]
    queries = []
    for _, display in picked:
        words = [w for w in re.findall(r"[a-z]+", display.lower()) if len(w) > 3]
        words = words[: rng.choice((1, 2))] or ["pain"]
        queries.append(" ".join(w[: rng.randint(3, 7)] for w in words))
    return codes, queries
