"""Memory per worker: `python -m service serve` on the store, driven with many different requests
(lookups and validations of random codes, in JSON and XML, so that each worker's answer cache
fills), then the resident (RSS) and proportional (PSS: shared pages split between the processes
that map them) memory of each worker, read from /proc.

    python bench/memory.py [--store DIR] [--requests 20000] [--workers 2]
"""

from __future__ import annotations

import argparse
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from run import ROOT, SYSTEM, sample, service_running


def _memory(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    return {"rss_mb": round(fields["Rss"], 1), "pss_mb": round(fields["Pss"], 1)}


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with service_running(args.store, args.workers) as (process, root):
        base = f"{root}/fhir"
        workers = _children(process.pid)
        idle = {pid: _memory(pid) for pid in workers}
        codes, _ = sample(args.store, 5000)
        rng = random.Random(7)
        urls = [
            f"{base}/CodeSystem/{rng.choice(['$lookup?system', '$validate-code?url'])}={SYSTEM}&code={code}"
            + rng.choice(["", "&_format=xml"])
            for code in (rng.choice(codes) for _ in range(args.requests))
        ]
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool, requests.Session() as session:
            statuses = list(pool.map(lambda url: session.get(url, timeout=30).status_code, urls))
        assert all(s == 200 for s in statuses), set(statuses)
        loaded = {pid: _memory(pid) for pid in workers}
        print(f"{args.requests} requests in {time.perf_counter() - started:.0f} s, {args.workers} workers")
        for pid in workers:
            print(f"worker {pid}: idle {idle[pid]}, after {loaded[pid]}")


if __name__ == "__main__":
    main()
