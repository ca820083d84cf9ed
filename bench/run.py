"""Load benchmark of $lookup and $validate-code against the framework ceiling, in one run.

    python bench/run.py [--store DIR] [--duration 5] [--rounds 3] [--connections 1,8,16] [--workers 2]

Starts side by side on loopback (1) the ceiling: Flask returning a fixed body under the same
server (granian WSGI, same workers and threads), and (2) the service; drives them in turn with
wrk, round after round, over random ICD-10-CM codes (billable and header, dotted and dotless)
and text queries, and prints requests/s, p50 and p99 (medians over the rounds) per workload and
connection count, and each workload's ratio to the ceiling. It
also measures cold start (process start to first answer) and a full load from the XML. Results
go to bench/results/<timestamp>.json. Needs `wrk` (Debian package wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import requests
from sampling import sample

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from service.icd10cm.codes import normalize_code

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start(command: list[str], env: dict, cwd: Path = ROOT) -> subprocess.Popen:
    """A server process; ``cwd`` decides which checkout's ``service`` package it imports."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def service_running(store: Path, workers: int):
    """`python -m service serve` on the store (no access log) on a free port: yields (process, root URL)
    once it answers, and stops it after."""
    port = free_port()
    process = start(
        [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--store",
            str(store),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        {"ICD10CM_TX_ACCESS_LOG": "off"},
    )
    root = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{root}/health")
        yield process, root
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:  # it is gone already
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


SERVERS = ("granian", "granian-wsgi", "gunicorn-sync", "gunicorn-gthread")
# granian as `serve` runs it (service/http/supervisor.py): RSGI, uvloop, behind the front of service/http/server.py (bodies read on the event loop,
# quick GETs answered inline); the same front around the ceilings.
_FRONTS = {
    "ceiling_app:app": "ceiling_app:front",
    "ceiling_app:raw": "ceiling_app:front_raw",
    "service.wsgi:app": "service.rsgi:front",
}


def server(kind: str, target: str, port: int, workers: int, threads: int) -> list[str]:
    """The command that serves a WSGI ``target`` (module:app)."""
    if kind == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "rsgi",
            "--loop",
            "uvloop",
            "--runtime-mode",
            "st",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-ws",
            _FRONTS[target],
        ]
    if kind == "granian-wsgi":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-ws",
            target,
        ]
    worker_class = kind.removeprefix("gunicorn-")  # sync: no keep-alive; gthread: keep-alive
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        worker_class,
        "--bind",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
        target,
    ]


WORKLOADS = {
    # name -> request; guidance is returned by default, `guidance=none` measures the same without it
    "lookup": "/fhir/CodeSystem/$lookup?system={s}&code={c}",
    "lookup-noguid": "/fhir/CodeSystem/$lookup?system={s}&code={c}&guidance=none",
    "validate-code": "/fhir/CodeSystem/$validate-code?url={s}&code={c}",
    "validate-noguid": "/fhir/CodeSystem/$validate-code?url={s}&code={c}&guidance=none",
    # the same lookup with a date (the release in effect that day, in the default release's period)
    "lookup-dated": "/fhir/CodeSystem/$lookup?system={s}&code={c}&guidance=none&date=2026-06-01",
    # the same answers in FHIR XML
    "lookup-xml": "/fhir/CodeSystem/$lookup?system={s}&code={c}&_format=xml",
    "validate-xml": "/fhir/CodeSystem/$validate-code?url={s}&code={c}&_format=xml",
    # $expand over all of ICD-10-CM: a text filter, count 20; and a hierarchy (is-a M54), count 10
    "expand-text": "/fhir/ValueSet/$expand?url={s}%3Ffhir_vs&filter={q}&count=20",
    "expand-isa": "/fhir/ValueSet/$expand?url={s}%3Ffhir_vs%3Disa/M54&count=10",
    # the pages for people: a code's page (its address: dotted, as links write it) and a search
    "page-code": "/codes/{n}",
    "page-search": "/search?q={q}",
    # a diagnosis list of 10 codes, checked as a whole (POST: see write_paths)
    "validate-diagnoses": "POST /fhir/CodeSystem/$validate-diagnoses",
    # the general engine (any code system): a FHIR core value set from valuesets/ and codesystems/
    "general-validate": "/fhir/ValueSet/$validate-code?url=http%3A%2F%2Fhl7.org%2Ffhir%2FValueSet%2Fadministrative-gender"
    "&system=http%3A%2F%2Fhl7.org%2Ffhir%2Fadministrative-gender&code={g}",
    "general-expand": "/fhir/ValueSet/$expand?url=http%3A%2F%2Fhl7.org%2Ffhir%2FValueSet%2Fadministrative-gender",
}
GENDERS = ("male", "female", "other", "unknown", "none")  # "none" is not a code: a failed validation


def write_paths(codes: list[str], queries: list[str], operation: str, folder: Path) -> Path:
    template = WORKLOADS[operation]
    path = folder / f"{operation}.txt"
    if template.startswith("POST "):  # each line a list of 10 of the sampled codes, as a Parameters body
        lists = [codes[i : i + 10] for i in range(0, len(codes) - 9, 10)]
        bodies = [
            json.dumps(
                {
                    "resourceType": "Parameters",
                    "parameter": [{"name": "coding", "valueCoding": {"system": SYSTEM, "code": c}} for c in chosen],
                }
            )
            for chosen in lists
        ]
        path.write_text("".join(f"{template} {body}\n" for body in bodies))
        return path
    path.write_text(
        "\n".join(
            template.format(
                s=quote(SYSTEM, safe=""),
                c=quote(c),
                q=quote(q),
                n=quote(normalize_code(c)),
                g=GENDERS[i % len(GENDERS)],
            )
            for i, (c, q) in enumerate(zip(codes, queries, strict=True))
        )
        + "\n"
    )
    return path


BASELINE = "base:"  # the prefix of the baseline's rows (--baseline)
_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(port: int, paths: Path, connections: int, duration: int, headers: list[str] = ()) -> dict:
    threads = 1 if connections == 1 else 2
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--latency",
            *(option for header in headers for option in ("-H", header)),
            "-s",
            str(BENCH / "paths.lua"),
            f"http://127.0.0.1:{port}",
            "--",
            str(paths),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {p: float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(output)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": rps,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sum(map(int, sockets.groups())) if sockets else 0,
    }


def measure(env: dict, workloads: dict[str, Path], args) -> dict:
    """Both servers run side by side (an idle one costs nothing); each round measures the ceiling and
    then every workload at each connection count, so slow drifts of this shared machine hit them
    alike. The figures kept are the medians over the rounds."""
    ports = {"ceiling": free_port(), "ceiling-raw": free_port(), "service": free_port()}
    targets = {"ceiling": "ceiling_app:app", "ceiling-raw": "ceiling_app:raw", "service": "service.wsgi:app"}
    processes = [
        start(server(args.server, targets[name], port, args.workers, args.threads), env) for name, port in ports.items()
    ]
    if args.baseline:  # the same service from another checkout (an older commit), measured in the same rounds
        ports["baseline"] = free_port()
        baseline_env = {**env, "PYTHONPATH": f"{args.baseline.resolve()}:{BENCH}"}
        if args.baseline_store:  # a baseline of another store schema reads its own store
            baseline_env["ICD10CM_TX_STORE"] = str(args.baseline_store.resolve())
        command = server(args.server, targets["service"], ports["baseline"], args.workers, args.threads)
        processes.append(start(command, baseline_env, cwd=args.baseline.resolve()))
    try:
        for port in ports.values():
            wait_until_up(f"http://127.0.0.1:{port}/fhir/CodeSystem/$lookup")
        first = next(iter(workloads.values()))
        runs = [("ceiling", ports["ceiling"], first), ("ceiling-raw", ports["ceiling-raw"], first)]
        for name, paths in workloads.items():
            runs.append((name, ports["service"], paths))
            if args.baseline:
                runs.append((f"{BASELINE}{name}", ports["baseline"], paths))
        for _, port, paths in runs:
            wrk(port, paths, 16, 2)  # warm up
        samples: dict = {}
        for _ in range(args.rounds):
            for connections in args.connections:
                for name, port, paths in runs:
                    samples.setdefault(name, {}).setdefault(connections, []).append(
                        wrk(port, paths, connections, args.duration, args.headers)
                    )
        return {name: {c: _median(results) for c, results in by_conn.items()} for name, by_conn in samples.items()}
    finally:
        for process in processes:
            stop(process)


def _median(results: list[dict]) -> dict:
    """The run with the median throughput (its latencies come with it)."""
    return sorted(results, key=lambda r: r["rps"])[len(results) // 2]


def cold_start(store: Path) -> float:
    """Seconds from `python -m service serve` to the first $lookup answer, store already built."""
    port = free_port()
    started = time.perf_counter()
    process = start([sys.executable, "-m", "service", "serve", "--store", str(store), "--port", str(port)], {})
    try:
        wait_until_up(f"http://127.0.0.1:{port}/fhir/CodeSystem/$lookup?system={SYSTEM}&code=M54.9")
        return time.perf_counter() - started
    finally:
        stop(process)


def full_load() -> float:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "service", "load", "--store", folder], cwd=ROOT, check=True, capture_output=True
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", default="1,8,16")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--server", choices=SERVERS, default="granian", help="the WSGI server of both")
    parser.add_argument(
        "--answer-cache-mb",
        type=int,
        help="the service's answer cache (default: its default; 0 measures every answer computed)",
    )
    parser.add_argument("--no-load", action="store_true", help="skip the cold-start and full-load figures")
    parser.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip, as HTTP client libraries do")
    parser.add_argument("--codes", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each cell; the median is kept")
    parser.add_argument("--workloads", help=f"comma-separated, of: {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of an older commit (git worktree add DIR COMMIT): its service is measured in the same "
        "rounds, each workload right after this one's, and each row gets its ratio to the baseline",
    )
    parser.add_argument(
        "--baseline-store",
        type=Path,
        default=None,
        help="the store the baseline reads, when its schema differs from this checkout's (built by the baseline)",
    )
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    args.headers = ["Accept-Encoding: gzip"] if args.gzip else []
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    if not list(args.store.glob("icd10cm-*.sqlite")):
        subprocess.run([sys.executable, "-m", "service", "load", "--store", str(args.store)], cwd=ROOT, check=True)

    with tempfile.TemporaryDirectory() as folder:
        codes, queries = sample(args.store, args.codes)
        wanted = args.workloads.split(",") if args.workloads else list(WORKLOADS)
        workloads = {op: write_paths(codes, queries, op, Path(folder)) for op in wanted}
        env = {"ICD10CM_TX_STORE": str(args.store.resolve()), "PYTHONPATH": str(BENCH)}
        if args.answer_cache_mb is not None:
            env["ICD10CM_TX_ANSWER_CACHE_MB"] = str(args.answer_cache_mb)
        service = measure(env, workloads, args)
        ceiling = service.pop("ceiling")
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "server": args.server,
        "gzip": args.gzip,
        "workers": args.workers,
        "threads": args.threads,
        "answer_cache_mb": args.answer_cache_mb,
        "duration_s": args.duration,
        "ceiling": ceiling,
        "service": service,
    }
    if not args.no_load:
        report.update(cold_start_s=round(cold_start(args.store), 2), full_load_s=round(full_load(), 2))

    baseline = {name[len(BASELINE) :]: by_conn for name, by_conn in service.items() if name.startswith(BASELINE)}
    print(f"{'workload':<20}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'non-2xx':>9}{'/ base':>8}")
    for name, by_conn in [("ceiling", ceiling), *service.items()]:  # ceiling-raw: the WSGI server alone
        for c, r in by_conn.items():
            ratio = r["rps"] / ceiling[c]["rps"]
            versus = f"{r['rps'] / baseline[name][c]['rps']:>8.2f}" if name in baseline else ""
            print(
                f"{name:<20}{c:>6}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{ratio:>8.0%}"
                f"{r['non_2xx']:>9}{versus}"
            )
    if baseline:
        report["baseline"] = str(args.baseline)
    for operation in ("lookup", "validate-code"):
        if operation not in service or operation.split("-")[0] + "-noguid" not in service:
            continue
        without = service[operation.split("-")[0] + "-noguid"]
        slowdown = {c: round(without[c]["rps"] / service[operation][c]["rps"], 2) for c in args.connections}
        report[f"{operation}_guidance_cost"] = slowdown
        print(f"{operation}: time with guidance / without, by connections: {slowdown}")
    if "lookup-dated" in service and "lookup-noguid" in service:
        dated, undated = service["lookup-dated"], service["lookup-noguid"]
        cost = {c: round(undated[c]["rps"] / dated[c]["rps"], 2) for c in args.connections}
        report["lookup_date_cost"] = cost
        print(f"lookup: time with a date / without, by connections: {cost}")
    for kind in ("lookup", "validate"):
        xml, json_name = service.get(f"{kind}-xml"), service.get("lookup" if kind == "lookup" else "validate-code")
        if xml and json_name:
            cost = {c: round(json_name[c]["rps"] / xml[c]["rps"], 2) for c in args.connections}
            report[f"{kind}_xml_cost"] = cost
            print(f"{kind}: cost of XML / JSON, by connections: {cost}")
    if not args.no_load:
        print(f"cold start to first answer: {report['cold_start_s']} s; full load from XML: {report['full_load_s']} s")
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / f"{report['when'].replace(':', '')}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
