"""Faults a production server meets, on a real server (`python -m service serve`, 2 workers): a
worker killed, clients that stall their headers or bodies, bodies over the limit, a port taken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from conftest import PROJECT_ROOT, start_server, stop_server

pytestmark = pytest.mark.live
TIMEOUT = 2  # seconds: header and body timeouts of the server under test
LOOKUP = "/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=E11.9"


@pytest.fixture(scope="module")
def server(store_dir, tmp_path_factory):
    """(process, FHIR base) of a 2-worker server with short client timeouts."""
    process, base = start_server(
        store_dir,
        tmp_path_factory.mktemp("faults") / "server.log",
        {"ICD10CM_TX_BODY_TIMEOUT": str(TIMEOUT), "ICD10CM_TX_HEADER_TIMEOUT": str(TIMEOUT)},
        workers=2,
    )
    try:
        yield process, base
    finally:
        stop_server(process)


def _address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    return parts.hostname, parts.port


def _workers(process) -> set[int]:
    """The granian worker processes of a server (children of the serve process)."""
    found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    return {int(pid) for pid in found}


def _timed_get(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = requests.get(url, timeout=5)
    return response.status_code, time.perf_counter() - started


def _stalled_body(address, declared: int = 1000) -> socket.socket:
    sock = socket.create_connection(address)
    sock.sendall(
        b"POST /fhir/CodeSystem/$lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
        b"Content-Length: %d\r\n\r\n{" % declared
    )
    return sock


def _read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed (or ``limit``)."""
    sock.settimeout(limit)
    started, data = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return data, limit
    return data, time.monotonic() - started


def test_a_killed_worker_is_replaced_and_the_others_keep_serving(server):
    process, base = server
    before = _workers(process)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # every request in the next 2 s succeeds, on the surviving worker
        assert requests.get(base + LOOKUP, timeout=5).status_code == 200
    for _ in range(100):  # and a new worker takes the dead one's place
        now = _workers(process)
        if victim not in now and len(now) == 2:
            break
        time.sleep(0.1)
    assert victim not in now and len(now) == 2
    assert process.poll() is None


def test_under_load_only_the_killed_workers_requests_may_fail(server):
    process, base = server
    clients, stop, failures, done = 8, threading.Event(), [], []

    def client():
        session = requests.Session()
        while not stop.is_set():
            try:
                session.get(base + LOOKUP, timeout=5).raise_for_status()
                done.append(1)
            except requests.RequestException as error:
                failures.append(error)
                session = requests.Session()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    os.kill(min(_workers(process)), signal.SIGKILL)
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join()
    # At most one request in flight per client can have been on the killed worker (with its connection).
    assert len(failures) <= clients, failures[:3]
    assert len(done) > 100 and process.poll() is None
    assert requests.get(base + LOOKUP, timeout=5).status_code == 200


def test_stalled_bodies_do_not_starve_other_clients(server):
    process, base = server
    address = _address(base)
    stalled = [_stalled_body(address) for _ in range(16)]  # far more than the workers' threads (2 x 4)
    time.sleep(0.3)
    try:
        for url in (base.removesuffix("/fhir") + "/health", base + LOOKUP):
            for _ in range(5):
                status, seconds = _timed_get(url)
                assert status == 200 and seconds < 0.1, (url, seconds)
        # After the body timeout each one is answered 408 and closed.
        for sock in stalled:
            data, closed_after = _read_until_closed(sock, TIMEOUT + 3)
            assert data.startswith(b"HTTP/1.1 408"), data[:100]
            assert b"OperationOutcome" in data and closed_after < TIMEOUT + 3
    finally:
        for sock in stalled:
            sock.close()


def test_stalled_headers_are_closed_after_the_header_timeout(server):
    process, base = server
    sock = socket.create_connection(_address(base))
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finished
    assert _timed_get(base + LOOKUP)[1] < 0.1
    data, closed_after = _read_until_closed(sock, TIMEOUT + 3)
    sock.close()
    assert closed_after < TIMEOUT + 3


@pytest.mark.parametrize("chunked", [True, False])
def test_a_body_over_the_limit_is_413_chunked_or_not(server, chunked):
    process, base = server
    body = b'{"resourceType":"Parameters","parameter":[' + b" " * 1_100_000 + b"]}"
    data = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    response = requests.post(
        base + "/CodeSystem/$lookup", data=data, timeout=30, headers={"Content-Type": "application/fhir+json"}
    )
    assert response.status_code == 413
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "too-long"


def test_a_chunked_body_within_the_limit_is_read_whole(server):
    process, base = server
    body = (
        b'{"resourceType":"Parameters","parameter":[{"name":"code","valueCode":"E11.9"},'
        b'{"name":"system","valueUri":"http://hl7.org/fhir/sid/icd-10-cm"}]}'
    )
    response = requests.post(
        base + "/CodeSystem/$lookup",
        data=iter([body[:30], body[30:]]),
        timeout=30,
        headers={"Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 200 and "E11.9" in response.text


def test_a_taken_port_is_one_clear_line(server, tmp_path):
    process, base = server
    host, port = _address(base)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICD10CM_TX_")}
    result = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--store", str(tmp_path), "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is in use; choose another with --port (or ICD10CM_TX_PORT)"
    )
    assert not any(Path(tmp_path).iterdir())  # and nothing was built first


def test_costly_requests_do_not_hold_up_lookups(server):
    """4 clients send the costliest requests there are (a regular expression over every title, pages of
    1,000 codes): lookups from another client are still answered at once (before: seconds)."""
    process, base = server
    costly = [
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
                                {
                                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                                    "filter": [{"property": "display", "op": "regex", "value": pattern}],
                                }
                            ]
                        },
                    },
                },
            ],
        }
        for pattern in (".*a.*", "(?i).*[aeiou].*", ".*(e|o).*", "[A-Z].*")
    ]
    stop, answers = threading.Event(), []

    def client(i: int):
        session = requests.Session()
        while not stop.is_set():
            answers.append(
                session.post(
                    f"{base}/ValueSet/$expand",
                    json=costly[i % len(costly)],
                    timeout=30,
                    headers={"Content-Type": "application/fhir+json"},
                ).status_code
            )
            i += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        session = requests.Session()
        seconds = []
        for code in ("E11.9", "I10", "J45.909", "M54.50", "S52.501A", "Z00.00") * 10:
            started = time.perf_counter()
            assert (
                session.get(
                    f"{base}/CodeSystem/$lookup",
                    params={"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code},
                    timeout=10,
                ).status_code
                == 200
            )
            seconds.append(time.perf_counter() - started)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    seconds.sort()
    assert seconds[len(seconds) // 2] < 0.05 and seconds[-1] < 0.5, seconds[-5:]
    assert answers and set(answers) <= {200, 422}  # answered, or cut as too-costly: never a failure
