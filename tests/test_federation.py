"""Federation, with real servers on loopback: an upstream instance holds a code system (from a
folder of its own) that the front instance does not; the front routes to it.

Also: an upstream that goes down, and one that never answers (a socket that accepts and stays
silent), each with the front's answer time measured."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests
from conftest import start_server, stop_server
from fhir.resources.R4B.parameters import Parameters
from helpers import assert_fhir, param

from service.errors import LoadError
from service.federation.upstreams import Upstreams, parse_upstreams

LOCAL = "http://example.org/fhir/CodeSystem/local-colors"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
JSON = {"Accept": "application/fhir+json"}
LOGS: dict = {}  # where the federation fixture's servers log
CODE_SYSTEM = {
    "resourceType": "CodeSystem",
    "id": "local-colors",
    "url": LOCAL,
    "version": "1.0.0",
    "name": "LocalColors",
    "status": "active",
    "content": "complete",
    "concept": [{"code": "red", "display": "Red"}, {"code": "green", "display": "Green"}],
}


@pytest.fixture(scope="module")
def federation(store_dir, tmp_path_factory):
    """(upstream base, front base): the front discovers what the upstream serves."""
    folder = tmp_path_factory.mktemp("upstream-resources")
    (folder / "local-colors.json").write_text(json.dumps(CODE_SYSTEM))
    logs = LOGS["folder"] = tmp_path_factory.mktemp("federation")
    upstream, upstream_base = start_server(store_dir, logs / "upstream.log", {"ICD10CM_TX_RESOURCE_DIRS": str(folder)})
    front, front_base = start_server(
        store_dir, logs / "front.log", {"ICD10CM_TX_UPSTREAMS": json.dumps([{"url": upstream_base}])}
    )
    try:
        yield upstream_base, front_base
    finally:
        stop_server(front)
        stop_server(upstream)


def lookup(base: str, system: str, code: str) -> requests.Response:
    return requests.get(f"{base}/CodeSystem/$lookup", params={"system": system, "code": code}, headers=JSON, timeout=30)


def test_the_front_does_not_hold_the_upstream_code_system_itself(federation):
    upstream, front = federation
    assert lookup(upstream, LOCAL, "red").status_code == 200
    assert "X-Answered-By" not in lookup(upstream, LOCAL, "red").headers


def test_a_code_system_held_upstream_is_forwarded(federation):
    upstream, front = federation
    response = lookup(front, LOCAL, "red")
    assert response.status_code == 200
    assert response.headers["X-Answered-By"] == upstream
    body = response.json()
    assert_fhir(body, "Parameters")
    assert param(body, "display") == "Red"
    validated = requests.post(
        f"{front}/CodeSystem/$validate-code",
        headers={"Content-Type": "application/fhir+json"},
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "coding", "valueCoding": {"system": LOCAL, "code": "blue"}}],
        },
        timeout=30,
    )
    assert validated.headers["X-Answered-By"] == upstream
    assert param(validated.json(), "result") is False


def test_an_xml_request_is_forwarded_as_json_and_answered_in_xml(federation):
    upstream, front = federation
    body = (
        f'<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="coding"/><valueCoding>'
        f'<system value="{LOCAL}"/><code value="green"/></valueCoding></parameter></Parameters>'
    )
    response = requests.post(
        f"{front}/CodeSystem/$validate-code",
        data=body,
        timeout=30,
        headers={"Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml", "X-Request-Id": "fed-xml-1"},
    )
    assert response.status_code == 200 and response.headers["X-Answered-By"] == upstream
    assert response.headers["Content-Type"].startswith("application/fhir+xml")
    answer = Parameters.model_validate_xml(response.content)
    assert [p.valueBoolean for p in answer.parameter if p.name == "result"] == [True]
    time.sleep(0.3)
    assert '"request_id":"fed-xml-1"' in (LOGS["folder"] / "upstream.log").read_text()  # one id across both


def test_capabilities_are_discovered_and_shown(federation):
    upstream, front = federation
    capabilities = requests.get(f"{front}/metadata", params={"mode": "terminology"}, headers=JSON, timeout=30).json()
    assert_fhir(capabilities, "TerminologyCapabilities")
    [entry] = [c for c in capabilities["codeSystem"] if c["uri"] == LOCAL]
    assert entry["extension"][0]["valueUrl"] == upstream
    assert entry["version"] == [{"code": "1.0.0"}]


def test_discovery_runs_on_a_machine_up_for_less_than_the_refresh_interval(federation):
    """The monotonic clock starts near 0 at boot: a refresh interval longer than the uptime must not read as
    "discovered just now" before the first discovery (a fresh CI machine found no upstream code system)."""
    upstream, front = federation
    upstreams = Upstreams(parse_upstreams(json.dumps([{"url": upstream}])), refresh=time.monotonic() + 3600)
    assert upstreams.for_system(LOCAL) is upstreams.upstreams[0]


def test_nothing_is_forwarded_for_code_systems_held_here(federation):
    upstream, front = federation
    for system, code in ((ICD10CM, "M54.9"), ("http://hl7.org/fhir/administrative-gender", "male")):
        response = lookup(front, system, code)
        assert response.status_code == 200 and "X-Answered-By" not in response.headers


def test_a_code_system_nobody_holds_is_unknown_at_once(federation):
    upstream, front = federation
    started = time.monotonic()
    response = lookup(front, "http://example.org/nobody-has-this", "x")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 404
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "not-found"


def test_a_mixed_value_set_is_expanded_here_and_upstream(federation):
    upstream, front = federation
    value_set = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"system": ICD10CM, "concept": [{"code": "M54.9"}]}, {"system": LOCAL}]},
    }
    response = requests.post(
        f"{front}/ValueSet/$expand",
        headers={"Content-Type": "application/fhir+json"},
        json={"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": value_set}]},
        timeout=30,
    )
    body = response.json()
    assert response.status_code == 200, body
    assert_fhir(body, "ValueSet")
    assert {(c["system"], c["code"]) for c in body["expansion"]["contains"]} == {
        (ICD10CM, "M54.9"),
        (LOCAL, "red"),
        (LOCAL, "green"),
    }
    used = {p["valueUri"] for p in body["expansion"]["parameter"] if p["name"] == "used-codesystem"}
    assert f"{LOCAL}|1.0.0" in used and any(u.startswith(ICD10CM) for u in used)
    [source] = [e for e in body["expansion"]["extension"] if e["url"].endswith("expansion-source")]
    assert {"url": "server", "valueUrl": upstream} in source["extension"]
    checked = requests.post(
        f"{front}/ValueSet/$validate-code",
        headers={"Content-Type": "application/fhir+json"},
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "valueSet", "resource": value_set},
                {"name": "coding", "valueCoding": {"system": LOCAL, "code": "green"}},
            ],
        },
        timeout=30,
    ).json()
    assert param(checked, "result") is True
    assert param(checked, "answered-by") == upstream


def _silent_server() -> tuple[socket.socket, int]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(16)], daemon=True).start()
    return server, server.getsockname()[1]


def test_an_upstream_that_goes_down_or_hangs_degrades_to_502_and_504(store_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fragile-resources")
    (folder / "local-colors.json").write_text(json.dumps(CODE_SYSTEM))
    logs = tmp_path_factory.mktemp("fragile")
    upstream, upstream_base = start_server(store_dir, logs / "upstream.log", {"ICD10CM_TX_RESOURCE_DIRS": str(folder)})
    silent, port = _silent_server()
    front = None
    try:
        front, front_base = start_server(
            store_dir,
            logs / "front.log",
            {
                "ICD10CM_TX_UPSTREAMS": json.dumps(
                    [
                        {"url": upstream_base},
                        {
                            "name": "silent",
                            "url": f"http://127.0.0.1:{port}/fhir",
                            "systems": ["http://slow.example/*"],
                        },
                    ]
                ),
                "ICD10CM_TX_UPSTREAM_TIMEOUT": "1",
                "ICD10CM_TX_UPSTREAM_RETRY_AFTER": "60",
            },
        )
        assert lookup(front_base, LOCAL, "red").status_code == 200  # discovered and forwarded

        stop_server(upstream)  # the upstream goes down mid-test
        started = time.monotonic()
        down = lookup(front_base, LOCAL, "red")
        assert down.status_code == 502 and time.monotonic() - started < 3
        assert_fhir(down.json(), "OperationOutcome")
        started = time.monotonic()
        assert lookup(front_base, LOCAL, "red").status_code == 502
        assert time.monotonic() - started < 0.5  # not tried again on every request
        assert lookup(front_base, ICD10CM, "M54.9").status_code == 200  # what is held here still answers

        started = time.monotonic()
        slow = lookup(front_base, "http://slow.example/cs", "x")
        assert slow.status_code == 504 and 0.9 < time.monotonic() - started < 5
        assert slow.json()["issue"][0]["code"] == "timeout"
        started = time.monotonic()
        assert lookup(front_base, "http://slow.example/cs", "x").status_code == 502
        assert time.monotonic() - started < 0.5
    finally:
        if front is not None:
            stop_server(front)
        stop_server(upstream)
        silent.close()


def test_the_implicit_value_set_of_an_upstream_code_system_is_forwarded(federation):
    upstream, front = federation
    response = requests.get(f"{front}/ValueSet/$expand", params={"url": f"{LOCAL}?fhir_vs"}, headers=JSON, timeout=30)
    assert response.headers.get("X-Answered-By") == upstream
    assert {c["code"] for c in response.json()["expansion"]["contains"]} == {"red", "green"}


def test_validating_in_a_code_system_nobody_holds(federation):
    upstream, front = federation
    body = requests.get(
        f"{front}/CodeSystem/$validate-code",
        params={"url": "http://example.org/nobody", "code": "x"},
        headers=JSON,
        timeout=30,
    ).json()
    assert param(body, "result") is False
    assert param(body, "x-caused-by-unknown-system") == "http://example.org/nobody"


@pytest.mark.parametrize(
    "text", ["[", "{}", '[{"url": "ftp://x"}]', '[{"url": "http://x", "systems": "all"}]', "/no/such/file.json"]
)
def test_a_bad_upstream_configuration_is_refused_with_its_reason(text):
    with pytest.raises(LoadError) as raised:
        parse_upstreams(text)
    assert raised.value.message.startswith("upstreams")


def test_upstream_configuration():
    [listed, discovered] = parse_upstreams(
        json.dumps(
            [
                {"name": "snomed", "url": "https://tx.example.org/r4/", "systems": ["http://snomed.info/*"]},
                {"url": "http://10.0.0.7:8080/fhir"},
            ]
        )
    )
    assert listed.url == "https://tx.example.org/r4" and not listed.discover
    assert listed.serves("http://snomed.info/sct") and not listed.serves("http://loinc.org")
    assert discovered.discover and discovered.name == "http://10.0.0.7:8080/fhir"
    assert parse_upstreams("") == []
