"""What routing to an upstream server adds: the same $lookup asked of the upstream directly and
through a front server that forwards it, in one run.

    python bench/federation.py [--store DIR] [--duration 5] [--rounds 3] [--connections 1,8]

Starts an upstream (holding a 500-code system from a folder of its own) and a front (told of the
upstream, which it discovers), both as `python -m service serve` with 2 workers (the front with 4
threads each: it mostly waits on the upstream), and drives each
with wrk over random codes of that system, round after round, keeping the medians. Prints
requests/s, p50 and p99 of both, and what the front adds. Needs `wrk`.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from run import ROOT, _median, free_port, start, stop, wait_until_up, wrk

SYSTEM = "http://example.org/fhir/CodeSystem/bench"
CODES = 500


def serve(store: Path, port: int, env: dict, threads: int = 1):
    return start(
        [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--store",
            str(store),
            "--port",
            str(port),
            "--threads",
            str(threads),
        ],
        env,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", default="1,8")
    parser.add_argument(
        "--front-threads",
        type=int,
        default=4,
        help="threads per worker of the front, which mostly waits on the upstream",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    connections = [int(c) for c in args.connections.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "resources").mkdir()
        (folder / "resources" / "bench.json").write_text(
            json.dumps(
                {
                    "resourceType": "CodeSystem",
                    "id": "bench",
                    "url": SYSTEM,
                    "version": "1",
                    "name": "Bench",
                    "status": "active",
                    "content": "complete",
                    "concept": [{"code": f"c{i}", "display": f"Concept {i}"} for i in range(CODES)],
                }
            )
        )
        rng = random.Random(7)
        paths = folder / "paths.txt"
        paths.write_text(
            "\n".join(
                f"/fhir/CodeSystem/$lookup?system={quote(SYSTEM, safe='')}&code=c{rng.randrange(CODES)}"
                for _ in range(5000)
            )
            + "\n"
        )
        upstream_port, front_port = free_port(), free_port()
        upstream = serve(args.store, upstream_port, {"ICD10CM_TX_RESOURCE_DIRS": str(folder / "resources")})
        front = serve(
            args.store,
            front_port,
            {"ICD10CM_TX_UPSTREAMS": json.dumps([{"url": f"http://127.0.0.1:{upstream_port}/fhir"}])},
            args.front_threads,
        )
        try:
            probe = f"/fhir/CodeSystem/$lookup?system={quote(SYSTEM, safe='')}&code=c1"
            for port in (upstream_port, front_port):
                wait_until_up(f"http://127.0.0.1:{port}{probe}")
            runs = {"direct": upstream_port, "routed": front_port}
            for port in runs.values():
                wrk(port, paths, 8, 2)  # warm up
            samples: dict = {}
            for _ in range(args.rounds):
                for c in connections:
                    for name, port in runs.items():
                        samples.setdefault(name, {}).setdefault(c, []).append(wrk(port, paths, c, args.duration))
        finally:
            stop(front)
            stop(upstream)
    results = {name: {c: _median(r) for c, r in by_c.items()} for name, by_c in samples.items()}
    print(f"{'':<8}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, by_c in results.items():
        for c, r in by_c.items():
            print(f"{name:<8}{c:>6}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}")
    for c in connections:
        direct, routed = results["direct"][c], results["routed"][c]
        print(
            f"routing adds at {c} connection(s): p50 +{routed['p50_ms'] - direct['p50_ms']:.2f} ms, "
            f"p99 +{routed['p99_ms'] - direct['p99_ms']:.2f} ms; throughput {routed['rps'] / direct['rps']:.0%} "
            "of direct"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"federation-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
