"""Text search in-process (no HTTP): the mean time of `Icd10cm.expand` over the bench's typed queries (the
first words of random titles cut to 3-7 letters, as in run.py), best of 5 passes, for this checkout and,
with --baseline, for another one on its own store, one after the other, with the ratio.

    python bench/search_speed.py --store DIR [--baseline /tmp/old --baseline-store DIR] [--queries 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_MEASURE = """
import sys, time
from pathlib import Path
sys.path[:0] = [{checkout!r}, {bench!r}]  # the checkout's service, this bench's query sample
from sampling import sample
from service.icd10cm.codes import ICD10CM
from service.icd10cm.operations import Icd10cm
store = Path({store!r})
engine = Icd10cm.from_store(store)
every = {{"compose": {{"include": [{{"system": ICD10CM}}]}}}}
queries = sample(store, {count})[1]
best = float("inf")
for _ in range(6):  # the first pass warms the caches
    started = time.perf_counter()
    for query in queries:
        engine.expand(every, text=query, count=20)
    best = min(best, time.perf_counter() - started)
print(best / len(queries) * 1000)
"""


def measure(checkout: Path, store: Path, count: int) -> float:
    code = _MEASURE.format(
        checkout=str(checkout.resolve()), bench=str(ROOT / "bench"), store=str(store.resolve()), count=count
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, help="a checkout of another commit")
    parser.add_argument("--baseline-store", type=Path, help="the baseline's store (of its own schema)")
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    here = measure(ROOT, args.store, args.queries)
    print(f"this checkout: {here:.3f} ms a text search")
    if args.baseline:
        there = measure(args.baseline, args.baseline_store or args.store, args.queries)
        print(f"baseline:      {there:.3f} ms a text search; this / baseline = {here / there:.2f}")


if __name__ == "__main__":
    main()
