"""The real server process (`python -m service serve`), used through a FHIR client library and plain HTTP,
and the `load` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound
from helpers import FHIR_JSON, ICD10CM, PROJECT_ROOT, assert_fhir, assert_fhir_response, param, properties

pytestmark = pytest.mark.live


def plain(resource) -> dict:
    """fhirpy answers AttrDicts; validate what came over the wire as plain JSON."""
    return json.loads(json.dumps(resource))


@pytest.fixture(scope="module")
def fhir(live_server) -> SyncFHIRClient:
    return SyncFHIRClient(live_server, requests_config={"timeout": 30})


def test_lookup_with_fhirpy(fhir):
    body = plain(fhir.execute("CodeSystem/$lookup", method="get", params={"system": ICD10CM, "code": "M54.9"}))
    assert_fhir(body, "Parameters")
    assert param(body, "display") == "Dorsalgia, unspecified"
    assert param(body, "version") == "2026-04"
    assert [p["value"] for p in properties(body, "block")] == ["M50-M54", "M40-M54"]


def test_lookup_post_with_fhirpy(fhir):
    body = plain(
        fhir.execute(
            "CodeSystem/icd10cm-2026-04/$lookup",
            method="post",
            data={"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": "S52.501B"}]},
        )
    )
    assert_fhir(body, "Parameters")
    assert [p["value"] for p in properties(body, "sevenChrDef")] == ["B"]


def test_validate_code_with_fhirpy(fhir):
    body = plain(
        fhir.execute(
            "CodeSystem/$validate-code",
            method="post",
            data={
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "url", "valueUri": ICD10CM},
                    {"name": "code", "valueCode": "M54.9"},
                    {"name": "display", "valueString": "Dorsalgia, unspecified"},
                ],
            },
        )
    )
    assert_fhir(body, "Parameters")
    assert param(body, "result") is True
    body = plain(
        fhir.execute(
            "CodeSystem/$validate-code",
            method="post",
            data={
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "coding", "valueCoding": {"system": ICD10CM, "code": "M54.5"}},
                    {"name": "abstract", "valueBoolean": False},
                ],
            },
        )
    )
    assert_fhir(body, "Parameters")
    assert param(body, "result") is False
    assert "M54.50" in param(body, "message")


def test_errors_through_fhirpy(fhir):
    with pytest.raises(ResourceNotFound) as raised:
        fhir.execute("CodeSystem/$lookup", method="get", params={"system": ICD10CM, "code": "M54.99"})
    assert_fhir(json.loads(str(raised.value)), "OperationOutcome")
    with pytest.raises(OperationOutcome) as raised:
        fhir.execute("CodeSystem/$lookup", method="get", params={"system": ICD10CM})
    assert "code" in str(raised.value)


def test_codesystem_search_with_fhirpy(fhir):
    [codesystem] = fhir.resources("CodeSystem").search(url=ICD10CM).fetch_all()
    resource = plain(codesystem.serialize())
    assert_fhir(resource, "CodeSystem")
    assert resource["version"] == "2026-04" and resource["count"] == 98_186


def test_metadata_over_http(live_server):
    response = requests.get(f"{live_server}/metadata", timeout=10)
    body = assert_fhir_response(response, 200, "CapabilityStatement")
    assert body["fhirVersion"] == "4.0.1"
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    response = requests.get(f"{live_server}/metadata", params={"mode": "terminology"}, timeout=10)
    body = assert_fhir_response(response, 200, "TerminologyCapabilities")
    assert body["codeSystem"][0]["version"][0]["code"] == "2026-04"


def test_errors_over_http(live_server):
    assert_fhir_response(requests.get(f"{live_server}/Patient/1", timeout=10), 404)
    response = requests.put(f"{live_server}/CodeSystem/$lookup", json={}, timeout=10)
    assert_fhir_response(response, 405)
    big = {"resourceType": "Parameters", "parameter": [{"name": "x", "valueString": "x" * 1_100_000}]}
    assert_fhir_response(requests.post(f"{live_server}/CodeSystem/$lookup", json=big, timeout=30), 413)
    response = requests.post(
        f"{live_server}/CodeSystem/$lookup", data="code=M54.9", headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert_fhir_response(response, 415)
    assert_fhir_response(requests.get(f"{live_server}/metadata?_format=turtle", timeout=10), 406)


def test_concurrent_requests(live_server):
    codes = ["M54.9", "S52.501B", "T07.XXXA", "E11.9", "Z3A.00", "C50.911", "J09.X1", "S06.1X7A"] * 4

    def lookup(code):
        response = requests.get(
            f"{live_server}/CodeSystem/$lookup", params={"system": ICD10CM, "code": code}, timeout=30
        )
        return code, response

    with ThreadPoolExecutor(8) as pool:
        for code, response in pool.map(lookup, codes):
            body = assert_fhir_response(response, 200, "Parameters")
            assert param(body, "code") == code


def test_cli_load_prints_the_counts(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICD10CM_TX_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-m", "service", "load", "--store", str(store)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "loaded ICD-10-CM 2026-04: 98,186 codes (74,719 billable), 297 blocks, 22 chapters" in done.stdout
    assert (store / "icd10cm-2026-04.sqlite").is_file()


def test_cli_load_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICD10CM_TX_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "service", "load", str(tmp_path / "missing.xml"), "--store", str(tmp_path / "store")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "missing.xml" in done.stderr


def test_xml_and_the_protocol_over_http(live_server):
    """Through the real server: XML both ways, gzip, ETag and 304, the request id, CORS."""
    from fhir.resources.R4B.parameters import Parameters

    body = (
        '<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="url"/>'
        '<valueUri value="http://hl7.org/fhir/sid/icd-10-cm"/></parameter>'
        '<parameter><name value="code"/><valueCode value="M54.5"/></parameter></Parameters>'
    )
    response = requests.post(
        f"{live_server}/CodeSystem/$validate-code",
        data=body,
        timeout=10,
        headers={
            "Content-Type": "application/fhir+xml",
            "Accept": "application/fhir+xml",
            "X-Request-Id": "live-xml-1",
        },
    )
    assert response.status_code == 200 and response.headers["X-Request-Id"] == "live-xml-1"
    answer = Parameters.model_validate_xml(response.content)
    assert any(p.name == "result" for p in answer.parameter)
    url = f"{live_server}/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=M54.50"
    first = requests.get(url, headers={"Accept-Encoding": "gzip", "Origin": "https://app.example.org"}, timeout=10)
    assert first.headers["Content-Encoding"] == "gzip" and first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.json()["resourceType"] == "Parameters"  # requests undoes the gzip
    again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""


def test_r5_endpoint_with_fhirpy(live_server):
    """A real client on the R5 endpoint of the real server: R5 shapes, valid by fhir.resources' R5 models."""
    r5 = SyncFHIRClient(live_server + "/r5", requests_config={"timeout": 30})
    statement = plain(r5.execute("metadata", method="get"))
    assert_fhir(statement, "CapabilityStatement", "5.0")
    assert statement["fhirVersion"] == "5.0.0"
    expansion = plain(
        r5.execute(
            "ValueSet/$expand",
            method="get",
            params={"url": f"{ICD10CM}?fhir_vs=isa/M54.1", "property": "parent"},
        )
    )
    assert_fhir(expansion, "ValueSet", "5.0")
    assert {p["code"] for c in expansion["expansion"]["contains"] for p in c["property"]} == {"parent"}
    lookup = plain(r5.execute("CodeSystem/$lookup", method="get", params={"system": ICD10CM, "code": "M54.9"}))
    assert_fhir(lookup, "Parameters", "5.0")
    assert param(lookup, "display") == "Dorsalgia, unspecified"
