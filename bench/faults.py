"""Faults under load: what other clients see while a worker is killed, while clients stall, and while
clients send the costliest requests the server allows, each against a quiet baseline in the same run.

    python bench/faults.py [--store DIR] [--duration 10] [--connections 8] [--answer-cache-mb 32]

Starts `python -m service serve` (2 workers, defaults otherwise) and drives $lookup over 5,000
random codes with wrk (`--connections`, 2 threads) for `--duration` seconds in each scenario:

- **baseline**: nothing else happening.
- **worker killed**: one worker is killed (SIGKILL) a third of the way in; requests that failed,
  and the latency of the rest.
- **stalled clients**: 200 connections that sent their headers and one byte of a 1,000-byte body,
  and 200 that sent half of their headers, held for the whole run.
- **costly clients**: 4 clients each sending, one after another, the costliest requests there are:
  a regular expression over every ICD-10-CM title (patterns that match most of them), expansions of
  1,000 codes, and text searches. How many were answered, and how many were cut as too-costly.

Prints requests/s, p50/p99 and failures per scenario, and the ratio of each p99 to the baseline's.
Results go to bench/results/faults-<timestamp>.json. Needs `wrk` (Debian package wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from run import BENCH, ROOT, SYSTEM, free_port, sample, start, stop, wait_until_up, write_paths, wrk

VALUE_SET = "http://hl7.org/fhir/sid/icd-10-cm?fhir_vs"
# Patterns that match most of the 98,000 titles: the regular expressions that cost the most.
PATTERNS = [".*a.*", "(?i).*[aeiou].*", ".*(e|o).*", "[A-Z].*", ".*", "(?i).*(left|right|unspecified).*"]


def costly_requests() -> list[tuple[str, str, dict | None]]:
    """(method, path, JSON body) of each costly request, in turn."""
    regex = [
        (
            "POST",
            "/fhir/ValueSet/$expand",
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "count", "valueInteger": 1000},
                    {
                        "name": "valueSet",
                        "resource": {
                            "resourceType": "ValueSet",
                            "status": "active",
                            "compose": {
                                "include": [
                                    {"system": SYSTEM, "filter": [{"property": "display", "op": "regex", "value": p}]}
                                ]
                            },
                        },
                    },
                ],
            },
        )
        for p in PATTERNS
    ]
    pages = [
        ("GET", f"/fhir/ValueSet/$expand?url={VALUE_SET}&count=1000&offset={o}", None) for o in (0, 40_000, 90_000)
    ]
    search = [
        ("GET", f"/fhir/ValueSet/$expand?url={VALUE_SET}&filter={q}&count=1000", None)
        for q in ("a", "of", "fracture", "unspecified")
    ]
    return regex + pages + search


class CostlyClients:
    """Threads sending costly requests back to back until stopped; counts answers by status."""

    def __init__(self, root: str, clients: int):
        self.root, self.clients = root, clients
        self.statuses: Counter = Counter()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, offset: int) -> None:
        session, work = requests.Session(), costly_requests()
        i = offset
        while not self.stop.is_set():
            method, path, body = work[i % len(work)]
            i += 1
            try:
                response = session.request(
                    method, self.root + path, json=body, timeout=30, headers={"Content-Type": "application/fhir+json"}
                )
                self.statuses[response.status_code] += 1
            except requests.RequestException:
                self.statuses["failed"] += 1

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()


class StalledClients:
    """Connections that stall in their body or in their headers (re-opened when the server closes them)."""

    def __init__(self, port: int, count: int):
        self.port, self.count = port, count
        self.sockets: list[socket.socket] = []
        self.reopened = 0
        self.stop = threading.Event()
        self.keeper = threading.Thread(target=self._keep)

    def _open(self, i: int) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        if i % 2:
            sock.sendall(
                b"POST /fhir/CodeSystem/$lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json"
                b"\r\nContent-Length: 1000\r\n\r\n{"
            )
        else:
            sock.sendall(b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n")
        sock.setblocking(False)
        return sock

    def _keep(self) -> None:
        while not self.stop.wait(0.2):
            for i, sock in enumerate(self.sockets):
                try:
                    closed = sock.recv(65536) == b""
                except BlockingIOError:
                    continue
                except OSError:
                    closed = True
                if closed:
                    sock.close()
                    self.sockets[i] = self._open(i)
                    self.reopened += 1

    def __enter__(self):
        self.sockets = [self._open(i) for i in range(self.count)]
        self.keeper.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.keeper.join()
        for sock in self.sockets:
            sock.close()


def baseline(port, root, process, paths, args) -> dict:
    return wrk(port, paths, args.connections, args.duration)


def worker_killed(port, root, process, paths, args) -> dict:
    threading.Timer(args.duration / 3, lambda: os.kill(workers_of(process)[0], signal.SIGKILL)).start()
    result = wrk(port, paths, args.connections, args.duration)
    result["server_alive"] = process.poll() is None
    time.sleep(2)
    return result


def stalled_clients(port, root, process, paths, args) -> dict:
    with StalledClients(port, 400) as stalled:
        time.sleep(0.5)
        result = wrk(port, paths, args.connections, args.duration)
    result["held_connections"] = stalled.count
    return result


def costly_clients(port, root, process, paths, args) -> dict:
    with CostlyClients(root, 4) as costly:
        time.sleep(1)
        result = wrk(port, paths, args.connections, args.duration)
    result["costly_answers"] = dict(costly.statuses)
    return result


SCENARIOS = {
    "baseline": baseline,
    "worker_killed": worker_killed,
    "stalled_clients": stalled_clients,
    "costly_clients": costly_clients,
}


def workers_of(process) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    return sorted(int(pid) for pid in found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--answer-cache-mb", type=int, default=32)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, of: " + ", ".join(SCENARIOS))
    args = parser.parse_args()
    wanted = ["baseline"] + [s for s in args.scenarios.split(",") if s != "baseline"]
    if not any(args.store.glob("icd10cm-*.sqlite")):
        subprocess.run([sys.executable, "-m", "service", "load", "--store", str(args.store)], cwd=ROOT, check=True)
    folder = Path(tempfile.mkdtemp(prefix="faults-"))
    codes, queries = sample(args.store, 5000)
    paths = write_paths(codes, queries, "lookup", folder)
    port = free_port()
    process = start(
        [sys.executable, "-m", "service", "serve", "--store", str(args.store), "--port", str(port)],
        {"ICD10CM_TX_ACCESS_LOG": "off", "ICD10CM_TX_ANSWER_CACHE_MB": str(args.answer_cache_mb)},
    )
    root = f"http://127.0.0.1:{port}"
    results: dict = {
        "duration_s": args.duration,
        "connections": args.connections,
        "answer_cache_mb": args.answer_cache_mb,
    }
    try:
        wait_until_up(f"{root}/health")
        wrk(port, paths, args.connections, 3)  # warm up
        for name in wanted:
            results[name] = SCENARIOS[name](port, root, process, paths, args)
    finally:
        stop(process)
    base = results["baseline"]["p99_ms"]
    print(
        f"$lookup over 5,000 random codes, {args.connections} connections, {args.duration} s per scenario, "
        f"answer cache {args.answer_cache_mb} MB"
    )
    print(f"{'scenario':18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99/base':>9} {'failed':>7}")
    for name in wanted:
        r = results[name]
        print(
            f"{name:18} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['p99_ms'] / base:9.2f} "
            f"{r['non_2xx'] + r.get('socket_errors', 0):7d}"
        )
    if "worker_killed" in results:
        print(f"worker killed: server still up: {results['worker_killed']['server_alive']}")
    if "costly_clients" in results:
        print(f"costly clients' answers: {results['costly_clients']['costly_answers']}")
    out = BENCH / "results" / f"faults-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
