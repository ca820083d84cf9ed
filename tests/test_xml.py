"""FHIR XML: every kind of answer in XML says what the JSON answer says (checked by reading our XML
with fhir.resources), XML bodies are read like JSON ones, and hostile XML is refused."""

from __future__ import annotations

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from helpers import FHIR_JSON, assert_fhir, assert_fhir_response

from service.fhir import xml as fhir_xml

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
FHIR_XML = "application/fhir+xml"
GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"

# One request of every kind of answer: operations of both engines, reads, searches, errors.
ANSWERS = [
    f"/fhir/CodeSystem/$lookup?system={ICD10CM}&code=M54.9",
    f"/fhir/CodeSystem/$lookup?system={ICD10CM}&code=S52.501A&property=*",
    f"/fhir/CodeSystem/$validate-code?url={ICD10CM}&code=S52.501&display=wrong",
    f"/fhir/CodeSystem/$validate-code?url={ICD10CM}&code=M549",
    f"/fhir/ValueSet/$validate-code?url={ICD10CM}?fhir_vs&code=M54.5",
    f"/fhir/ValueSet/$expand?url={ICD10CM}?fhir_vs=isa/M54&count=5&property=parent",
    f"/fhir/CodeSystem/$subsumes?system={ICD10CM}&codeA=M54&codeB=M54.5",
    f"/fhir/ValueSet/$validate-code?url={GENDER_VS}&system=http://hl7.org/fhir/administrative-gender&code=none",
    f"/fhir/ValueSet/$expand?url={GENDER_VS}",
    "/fhir/metadata",
    "/fhir/metadata?mode=terminology",
    "/fhir/CodeSystem/icd10cm-2026-04",
    "/fhir/CodeSystem?url=http://hl7.org/fhir/administrative-gender",
    "/fhir/ValueSet/administrative-gender",
    "/fhir/StructureDefinition/icd10cm-guidance",
    "/fhir/Patient/1",
    f"/fhir/CodeSystem/$lookup?system={ICD10CM}&code=ZZZ",
]
# Different on every call: left out of the comparisons.
_VOLATILE = {"identifier", "timestamp", "date"}


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _with_format(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "_format=xml"


def _xml(response) -> bytes:
    assert response.headers["Content-Type"].startswith(FHIR_XML), response.headers["Content-Type"]
    body = response.get_data()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return body


@pytest.mark.parametrize("url", ANSWERS)
def test_every_answer_in_xml_says_what_json_says(client, url):
    as_json = client.get(url, headers={"Accept": FHIR_JSON})
    as_xml = client.get(url, headers={"Accept": FHIR_XML})
    assert as_xml.status_code == as_json.status_code
    expected = as_json.get_json()
    model = get_fhir_model_class(expected["resourceType"])
    from_xml = model.model_validate_xml(_xml(as_xml)).model_dump()
    from_json = model.model_validate(expected).model_dump()
    if expected["resourceType"] == "StructureDefinition":
        # fhir.resources drops the id attribute of ElementDefinition when it reads XML; our own reader keeps it.
        for section in ("snapshot", "differential"):
            for element in from_json.get(section, {}).get("element", ()):
                element.pop("id", None)
    assert _stable(from_xml) == _stable(from_json)
    assert _stable(fhir_xml.loads(as_xml.get_data())) == _stable(expected)


@pytest.mark.parametrize(
    "asked",
    [
        {"query": "_format=xml"},
        {"query": "_format=application/fhir%2Bxml"},
        {"query": "_format=text/xml"},
        {"headers": {"Accept": "application/fhir+xml"}},
        {"headers": {"Accept": "application/xml"}},
        {"headers": {"Accept": "application/fhir+xml, application/fhir+json;q=0.5"}},
        {"headers": {"Accept": "application/fhir+json;q=0.2, application/fhir+xml;q=0.9"}},
    ],
)
def test_ways_of_asking_for_xml(client, asked):
    response = client.get(f"/fhir/metadata?{asked.get('query', '')}", headers=asked.get("headers", {}))
    assert response.status_code == 200
    assert b"<CapabilityStatement" in _xml(response)


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+json",
        "*/*",
        "application/fhir+xml;q=0.5, */*",
        "application/fhir+json, application/fhir+xml",
        "text/html",
        "",
    ],
)
def test_json_otherwise(client, accept):
    response = client.get("/fhir/metadata", headers={"Accept": accept} if accept else {})
    assert_fhir_response(response, 200, "CapabilityStatement")


def test_xml_errors_are_operation_outcomes_in_xml(client):
    response = client.get(_with_format("/fhir/CodeSystem/$lookup?system=x&code=y"))
    assert response.status_code in (400, 404)
    assert get_fhir_model_class("OperationOutcome").model_validate_xml(_xml(response)).issue


def test_xml_answers_are_cached_apart_from_json(client):
    url = f"/fhir/CodeSystem/$validate-code?url={ICD10CM}&code=J45.909"
    for _ in range(2):
        assert client.get(url).get_json()["resourceType"] == "Parameters"
        assert b"<Parameters" in _xml(client.get(_with_format(url)))
    etags = {client.get(url).headers["ETag"], client.get(_with_format(url)).headers["ETag"]}
    assert len(etags) == 2


# ------------------------------------------------------------------------------------------ bodies

LOOKUP_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<Parameters xmlns="http://hl7.org/fhir">
  <!-- a comment is fine -->
  <parameter><name value="system"/><valueUri value="{ICD10CM}"/></parameter>
  <parameter><name value="code"/><valueCode value="M54.9"/></parameter>
  <parameter><name value="guidance"/><valueCode value="none"/></parameter>
</Parameters>"""


def test_an_xml_body_is_read_like_json(client):
    from_xml = client.post("/fhir/CodeSystem/$lookup", data=LOOKUP_XML, content_type=FHIR_XML)
    from_json = client.post("/fhir/CodeSystem/$lookup", json=fhir_xml.loads(LOOKUP_XML.encode()))
    assert from_xml.status_code == 200 and from_xml.get_json() == from_json.get_json()
    assert_fhir(from_xml.get_json(), "Parameters")


def test_an_xml_body_with_a_resource_inside(client):
    body = """<Parameters xmlns="http://hl7.org/fhir">
      <parameter><name value="valueSet"/><resource><ValueSet>
        <status value="active"/>
        <compose><include><system value="http://example.org/colors"/>
          <concept><code value="red"/></concept><concept><code value="blue"/></concept>
        </include></compose>
      </ValueSet></resource></parameter>
      <parameter><name value="tx-resource"/><resource><CodeSystem>
        <url value="http://example.org/colors"/><status value="active"/><content value="complete"/>
        <concept><code value="red"/><display value="Red"/></concept>
        <concept><code value="blue"/><display value="Blue"/></concept>
      </CodeSystem></resource></parameter>
      <parameter><name value="code"/><valueCode value="red"/></parameter>
      <parameter><name value="system"/><valueUri value="http://example.org/colors"/></parameter>
    </Parameters>"""
    response = client.post("/fhir/ValueSet/$validate-code?_format=xml", data=body, content_type=FHIR_XML)
    answer = fhir_xml.loads(_xml(response))
    assert response.status_code == 200
    assert {"name": "result", "valueBoolean": True} in answer["parameter"]
    assert {"name": "display", "valueString": "Red"} in answer["parameter"]


def test_primitive_extensions_and_ids_survive_a_round_trip():
    resource = {
        "resourceType": "CodeSystem",
        "id": "x",
        "status": "active",
        "content": "complete",
        "_status": {"id": "s1", "extension": [{"url": "http://e.org/a", "valueBoolean": False}]},
        "concept": [{"id": "c1", "code": "a", "designation": [{"value": '<b> & "quoted"\nline'}]}],
        "count": 3,
        "caseSensitive": True,
        "property": [{"code": "p", "type": "decimal"}],
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>a &amp; b</p></div>'},
    }
    assert fhir_xml.loads(fhir_xml.dumps(resource)) == resource
    assert_fhir(resource, "CodeSystem")
    get_fhir_model_class("CodeSystem").model_validate_xml(fhir_xml.dumps(resource))


_XXE = b"""<?xml version="1.0"?><!DOCTYPE Parameters [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="code"/><valueCode value="&x;"/></parameter></Parameters>"""
_BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><Parameters xmlns="http://hl7.org/fhir">&lol3;</Parameters>"""


@pytest.mark.parametrize(
    "body, says",
    [
        (_XXE, "DTD"),
        (_BOMB, "DTD"),
        (b"<Parameters xmlns='http://hl7.org/fhir'><parameter>", "well-formed"),
        (b"<Parameters><parameter><name value='code'/></parameter></Parameters>", "namespace"),
        (b"<Parameters xmlns='http://hl7.org/fhir'><bogus value='1'/></Parameters>", "bogus"),
        (b"<Patient xmlns='http://hl7.org/fhir'/>", "Patient"),
        (
            b"<Parameters xmlns='http://hl7.org/fhir'><parameter><name value='count'/><valueInteger value='x'/>"
            b"</parameter></Parameters>",
            "integer",
        ),
        (b"<Parameters xmlns='http://hl7.org/fhir'><id value='a'/><id value='b'/></Parameters>", "more than once"),
    ],
)
def test_hostile_or_broken_xml_is_400(client, body, says):
    response = client.post("/fhir/CodeSystem/$lookup", data=body, content_type=FHIR_XML)
    outcome = assert_fhir_response(response, 400, "OperationOutcome")
    assert says in outcome["issue"][0]["details"]["text"]
    assert b"root:" not in response.get_data()  # nothing of /etc/passwd


def test_an_xml_body_over_the_size_limit_is_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    padding = b"<!--" + b"x" * limit + b"-->"
    response = client.post("/fhir/CodeSystem/$lookup", data=LOOKUP_XML.encode() + padding, content_type=FHIR_XML)
    assert_fhir_response(response, 413, "OperationOutcome")


def test_deep_nesting_is_refused_not_a_crash(client):
    body = (
        b"<Parameters xmlns='http://hl7.org/fhir'><parameter><name value='a'/>"
        + b"<part><name value='a'/>" * 3000
        + b"</part>" * 3000
        + b"</parameter></Parameters>"
    )
    response = client.post("/fhir/CodeSystem/$lookup", data=body, content_type=FHIR_XML)
    assert_fhir_response(response, 400, "OperationOutcome")


def test_the_schema_file_is_what_the_generator_writes():
    import subprocess
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parent.parent / "tools" / "make_xml_schema.py"
    assert subprocess.run([sys.executable, str(tool), "--check"]).returncode == 0, (
        "service/fhir/xml_schema.json is stale: run python tools/make_xml_schema.py"
    )


def test_json_and_xml_answers_agree_for_many_codes(client, engine):
    """The fast path and its cache give the same answer as the JSON one, code after code."""
    for code, _ in engine.releases.default.concept("M54").children[:10]:
        url = f"/fhir/CodeSystem/$lookup?system={ICD10CM}&code={code}"
        as_json = client.get(url).get_json()
        assert _stable(fhir_xml.loads(_xml(client.get(_with_format(url))))) == _stable(as_json)
        assert orjson.loads(orjson.dumps(as_json)) == as_json


def test_a_lookup_written_from_its_pieces_is_the_lookup_converted(engine):
    """Lookups are written in XML from their (shared, kept) pieces: byte for byte what converting the
    JSON answer gives, code after code, with and without guidance and property filters."""
    from service.icd10cm.render import LookupAnswer

    release = engine.releases.default
    codes = [c for c, _ in release.concept("S52.5").children] + [
        "M54.9",
        "M54.50",
        "A00",
        "Z00.00",
        "O09.891",
        "T45.0X1A",
        "E11.9",
        "C50.911",
    ]
    for code in codes:
        for options in ({}, {"guidance": "none"}, {"properties": ["excludes1", "rule"]}):
            answer = LookupAnswer(engine.lookup(ICD10CM, code, **options))
            assert answer.xml() == fhir_xml.dumps(orjson.loads(answer.json())), (code, options)
            assert answer.xml() == fhir_xml.dumps(orjson.loads(answer.json()))  # the second time from kept pieces


# Requests that echo a client's string somewhere in their answer (a message, an echoed parameter, a
# resource sent with the request), in both engines; {} is the client's string.
_ECHOES = [
    ("GET", f"/fhir/CodeSystem/$lookup?system={ICD10CM}&code={{}}"),
    ("GET", f"/fhir/CodeSystem/$validate-code?url={ICD10CM}&code=M54.9&display={{}}"),
    ("GET", f"/fhir/ValueSet/$validate-code?url={ICD10CM}?fhir_vs&code={{}}"),
    ("GET", f"/fhir/ValueSet/$expand?url={ICD10CM}?fhir_vs&filter={{}}&count=2"),
    (
        "GET",
        f"/fhir/ValueSet/$validate-code?url={GENDER_VS}&system=http://hl7.org/fhir/administrative-gender&code={{}}",
    ),
    ("GET", "/fhir/CodeSystem/$lookup?system={}&code=x"),
    ("POST", "code"),
    ("POST", "display"),
    ("POST", "resource"),
]


def _echo_request(client, method: str, where: str, text: str):
    from urllib.parse import quote

    if method == "GET":
        return client.get(where.replace("{}", quote(text, safe="")) + "&_format=xml")
    code_system = {
        "resourceType": "CodeSystem",
        "url": "http://example.org/echo",
        "status": "active",
        "content": "complete",
        "concept": [{"code": "a", "display": text if where == "resource" else "A"}],
    }
    parameters = [
        {"name": "tx-resource", "resource": code_system},
        {"name": "url", "valueUri": "http://example.org/echo"},
        {"name": "code", "valueCode": text if where == "code" else "a"},
        {"name": "display", "valueString": text if where == "display" else "A"},
    ]
    return client.post(
        "/fhir/CodeSystem/$validate-code?_format=xml", json={"resourceType": "Parameters", "parameter": parameters}
    )


def test_any_client_string_gives_well_formed_xml_or_a_4xx(client):
    """Property: whatever a client puts in a parameter or a resource (control characters, U+FFFE, markup,
    quotes), the XML answer parses, or the request is refused with a 4xx."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from lxml import etree

    texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40) | st.sampled_from(
        ["\x00", "a\x01b", "\x0b", "\x1f", "\ufffe", "\uffff", "]]>", "<x>&amp;\"'", "\x7f\x85\u2028"]
    )

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.sampled_from(_ECHOES), texts)
    def check(request, text):
        response = _echo_request(client, *request, text)
        assert response.status_code < 500, (request, text, response.get_data()[:300])
        if response.status_code < 400 or response.headers["Content-Type"].startswith(FHIR_XML):
            etree.fromstring(response.get_data())  # raises when not well-formed

    check()
