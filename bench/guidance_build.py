"""What a code's rule-derived guidance costs to build, in-process (no HTTP), over random codes.

    python bench/guidance_build.py [--store DIR] [--codes 5000]

Prints microseconds per code built afresh (every cache of the builder warm but the code's own guidance,
as when a code is first asked of a warm worker) and served from the per-code cache. Run it in a checkout
of an older commit (git worktree add) to compare: a commit without the per-code cache reports its build
time only.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

try:
    from service.icd10cm.operations import Icd10cm as Engine
except ImportError:  # before issue 15's layout
    from service.terminology.engine import TerminologyEngine as Engine  # type: ignore[no-redef]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=Path("store"))
    parser.add_argument("--codes", type=int, default=5000)
    args = parser.parse_args()
    engine = Engine.from_store(args.store)
    release = engine.releases.default
    builder = engine._guidance[release.version]
    codes = [code for code, *_ in release.all_concepts()]
    concepts = [release.concept(c) for c in random.Random(1).sample(codes, args.codes)]
    for concept in concepts:  # warm every cache: families, note rules, the store's pages
        builder.build(concept, "all")
    fresh = getattr(builder, "_own", None)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        for concept in concepts:
            fresh(concept.code) if fresh else builder.build(concept, "all")
        timings.append((time.perf_counter() - start) / len(concepts) * 1e6)
    print(f"built afresh: {min(timings):.1f} us a code (best of 3, {args.codes} codes)")
    if fresh:
        start = time.perf_counter()
        for concept in concepts:
            builder.build(concept, "all")
        print(f"from the per-code cache: {(time.perf_counter() - start) / len(concepts) * 1e6:.1f} us a code")


if __name__ == "__main__":
    main()
