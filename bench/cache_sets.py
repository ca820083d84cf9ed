"""What $cache-control sets cost a worker: 30 sets of about 1 MB each (a 13,800-concept CodeSystem) sent
to `serve` with one worker, each used once; the worker's resident memory before and after, and what
the store keeps on disk.

    python bench/cache_sets.py [--store DIR] [--sets 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from run import ROOT, free_port, start, stop, wait_until_up


def worker_rss_mb(process) -> int:
    [worker] = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    status = Path(f"/proc/{worker}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--sets", type=int, default=30)
    args = parser.parse_args()
    store = Path(tempfile.mkdtemp(prefix="cache-sets-"))
    for release in args.store.glob("icd10cm-*.sqlite"):
        shutil.copyfile(release, store / release.name)
    port = free_port()
    process = start(
        [sys.executable, "-m", "service", "serve", "--store", str(store), "--port", str(port), "--workers", "1"],
        {"ICD10CM_TX_ACCESS_LOG": "off"},
    )
    root = f"http://127.0.0.1:{port}/fhir"
    try:
        wait_until_up(f"{root}/metadata")
        before = worker_rss_mb(process)
        concepts = [{"code": f"c{i}", "display": f"Concept number {i} " + "x" * 20} for i in range(13_800)]
        for n in range(args.sets):
            system = f"http://example.org/big{n}"
            body = json.dumps(
                {
                    "resourceType": "Parameters",
                    "parameter": [
                        {
                            "name": "tx-resource",
                            "resource": {
                                "resourceType": "CodeSystem",
                                "url": system,
                                "status": "active",
                                "content": "complete",
                                "concept": concepts,
                            },
                        }
                    ],
                }
            ).encode()
            started = requests.post(
                f"{root}/$cache-control?mode=start",
                data=body,
                timeout=60,
                headers={"Content-Type": "application/fhir+json"},
            )
            cache_id = started.json()["parameter"][0]["valueString"]
            requests.get(
                f"{root}/CodeSystem/$lookup",
                params={"system": system, "code": "c5"},
                timeout=60,
                headers={"X-Cache-Id": cache_id},
            ).raise_for_status()
        after = worker_rss_mb(process)
        files = list((store / "cache").glob("*.json"))
        print(
            f"{args.sets} sets of {len(body):,} bytes: worker {before} MB -> {after} MB; on disk "
            f"{sum(f.stat().st_size for f in files) / 1_048_576:.1f} MB in {len(files)} files, mode "
            f"{oct(files[0].stat().st_mode & 0o777) if files else '-'}"
        )
    finally:
        stop(process)
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
