"""Text search quality over tests/data/search_eval.toml: P@1, P@5, MRR (over the first 10) and empty answers,
per kind of query and overall, on the implicit all-codes value set, in-process (no HTTP).

    python bench/search_quality.py [--store DIR] [--half report|tune|all] [--misses]

The set was written before the search was tuned: tune on the "tune" half, report the "report" half.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.icd10cm.codes import ICD10CM
from service.icd10cm.operations import Icd10cm

EVAL = ROOT / "tests" / "data" / "search_eval.toml"
ALL_CODES = {"compose": {"include": [{"system": ICD10CM}]}}


def queries(half: str) -> list[dict]:
    found = tomllib.loads(EVAL.read_text())["query"]
    return [q for q in found if half == "all" or q["half"] == half]


def score(engine: Icd10cm, chosen: list[dict]) -> dict[str, dict]:
    """Per kind (and "all"): n, P@1, P@5, MRR, empty, and the misses (query, expected, first five)."""
    totals: dict[str, dict] = defaultdict(lambda: {"n": 0, "p1": 0, "p5": 0, "mrr": 0.0, "empty": 0, "misses": []})
    for query in chosen:
        found = [row[0] for row in engine.expand(ALL_CODES, text=query["text"], count=10).contains]
        expected = set(query["expected"])
        rank = next((i for i, code in enumerate(found, 1) if code in expected), None)
        for kind in (query["kind"], "all"):
            total = totals[kind]
            total["n"] += 1
            total["p1"] += rank == 1
            total["p5"] += rank is not None and rank <= 5
            total["mrr"] += 1 / rank if rank else 0.0
            total["empty"] += not found
            if rank != 1 and kind != "all":
                total["misses"].append((query["text"], query["expected"], found[:5]))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help="the store directory (default: the service's default)")
    parser.add_argument("--half", default="report", choices=("report", "tune", "all"))
    parser.add_argument("--misses", action="store_true", help="list the queries whose first answer is wrong")
    args = parser.parse_args()
    if args.store is None:
        from service.config import Settings

        args.store = Settings().store
    engine = Icd10cm.from_store(Path(args.store))
    totals = score(engine, queries(args.half))
    print(f"{'kind':14} {'n':>4} {'P@1':>6} {'P@5':>6} {'MRR':>6} {'empty':>6}")
    for kind in sorted(totals, key=lambda k: (k == "all", k)):
        t = totals[kind]
        n = t["n"]
        print(f"{kind:14} {n:4} {t['p1'] / n:6.2f} {t['p5'] / n:6.2f} {t['mrr'] / n:6.2f} {t['empty']:6}")
    if args.misses:
        for kind, t in sorted(totals.items()):
            for text, expected, first in t["misses"]:
                print(f"  [{kind}] {text!r}: expected {expected}, got {first}")


if __name__ == "__main__":
    main()
