"""Around every answer: request ids, CORS, ETag / 304, gzip, the health endpoint."""

from __future__ import annotations

import gzip
import json
import logging

import orjson
import pytest
from helpers import assert_fhir

LOOKUP = "/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=M54.9"


def test_request_id_is_echoed_or_made(client):
    assert client.get(LOOKUP, headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    made = client.get(LOOKUP).headers["X-Request-Id"]
    assert len(made) == 32
    unsafe = client.get(LOOKUP, headers={"X-Request-Id": "bad id\twith spaces"}).headers["X-Request-Id"]
    assert " " not in unsafe and len(unsafe) == 32


def test_access_log_is_one_json_line_with_the_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="icd10cm_tx.access"):
        client.get(LOOKUP, headers={"X-Request-Id": "log-me"})
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "icd10cm_tx.access"]
    assert line["request_id"] == "log-me" and line["status"] == 200 and line["method"] == "GET"
    assert line["path"].startswith("/fhir/CodeSystem/$lookup?")


def test_cors_for_browser_apps(client):
    response = client.get(LOOKUP, headers={"Origin": "https://app.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/fhir/ValueSet/$expand",
        headers={
            "Origin": "https://app.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"


def test_etag_and_304(client):
    first = client.get(LOOKUP)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Cache-Control"].startswith("public")
    again = client.get(LOOKUP, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    other = client.get(LOOKUP.replace("M54.9", "M54.5"), headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag
    assert client.get(LOOKUP, headers={"Accept-Language": "de"}).headers["ETag"] != etag
    assert (
        "ETag"
        not in client.post(
            "/fhir/CodeSystem/$lookup",
            json={
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "system", "valueUri": "http://hl7.org/fhir/sid/icd-10-cm"},
                    {"name": "code", "valueCode": "M54.9"},
                ],
            },
        ).headers
    )
    assert "ETag" not in client.get("/fhir/CodeSystem/$lookup?system=x&code=y").headers  # errors are not cached


def test_gzip_when_asked(client):
    plain = client.get(LOOKUP)
    zipped = client.get(LOOKUP, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert orjson.loads(gzip.decompress(zipped.get_data())) == plain.get_json()
    assert len(zipped.get_data()) < len(plain.get_data()) / 2
    small = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


@pytest.mark.parametrize(
    "accept_encoding, zipped",
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("GZIP;q=0.5", True),
        ("*", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("*;q=0", False),
        ("identity", False),
        ("br", False),
        ("deflate, gzip;q=0", False),
        ("*, gzip;q=0", False),
        ("", False),
        ("identity;q=1, *;q=0", False),
    ],
)
def test_gzip_only_where_accept_encoding_allows_it(client, accept_encoding, zipped):
    for _ in range(2):  # computed, then from the answer cache
        response = client.get(LOOKUP, headers={"Accept-Encoding": accept_encoding})
        assert (response.headers.get("Content-Encoding") == "gzip") is zipped
        body = gzip.decompress(response.get_data()) if zipped else response.get_data()
        assert orjson.loads(body)["resourceType"] == "Parameters"


def test_health(client):
    live = client.get("/health")
    assert live.status_code == 200 and live.get_json() == {"status": "pass"}
    assert live.headers["Content-Type"] == "application/health+json"
    ready = client.get("/health?ready")
    assert ready.status_code == 200 and ready.get_json()["releases"] == ["2026-04"]


def test_an_error_still_carries_the_protocol_headers(client):
    response = client.get("/fhir/Patient", headers={"X-Request-Id": "err-1"})
    assert response.status_code == 404 and response.headers["X-Request-Id"] == "err-1"
    assert_fhir(response.get_json(), "OperationOutcome")


def test_an_expansion_page_is_bounded_whatever_count_asks(client, app):
    limit = app.config["MAX_EXPANSION"]
    for count in (100_001, 2_147_483_647):  # the largest FHIR integer is cut to the largest page, not refused
        response = client.get(f"/fhir/ValueSet/$expand?url=http://hl7.org/fhir/sid/icd-10-cm?fhir_vs&count={count}")
        expansion = assert_fhir(response.get_json(), "ValueSet").expansion
        assert len(expansion.contains) == limit and expansion.total > 90_000
    too_big = client.get("/fhir/ValueSet/$expand?url=http://hl7.org/fhir/sid/icd-10-cm?fhir_vs&count=2147483648")
    assert too_big.status_code == 400 and "count" in too_big.get_data(as_text=True)
    unpaged = client.get("/fhir/ValueSet/$expand?url=http://hl7.org/fhir/sid/icd-10-cm?fhir_vs")
    assert unpaged.status_code == 422 and "too-costly" in unpaged.get_data(as_text=True)


def test_no_stack_trace_reaches_a_client(app, monkeypatch):
    """An unexpected failure inside an operation is a 500 OperationOutcome that says nothing of the code."""
    engine = app.extensions["terminology"]

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals /work/service/engine.py line 42")

    monkeypatch.setattr(engine, "lookup", broken)
    response = app.test_client().get(LOOKUP + "&fresh=1")  # not an answer the cache already holds
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret" not in text and "Traceback" not in text and ".py" not in text
    assert_fhir(response.get_json(), "OperationOutcome")


def test_kept_answers_are_the_answers(app):
    """The answer cache gives back exactly what was computed, plain or gzip, JSON or XML."""
    client = app.test_client()
    url = "/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=S32.009A&property=*"
    kept_before = app.wsgi_app.cache.size
    computed = client.get(url).get_data()
    assert app.wsgi_app.cache.size > kept_before
    assert client.get(url).get_data() == computed
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.get_data()) == computed
    assert int(zipped.headers["Content-Length"]) == len(zipped.get_data())
    head = client.head(url)
    assert head.status_code == 200 and head.get_data() == b"" and int(head.headers["Content-Length"]) == len(computed)
    assert client.put(url).status_code == 405  # a kept GET answer is for GET and HEAD only
