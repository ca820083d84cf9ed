"""The engine without Flask: the chain of providers the app builds, asked directly with
OperationRequests, for each provider (ICD-10-CM from the store, the in-memory engine, an upstream
server); and one OperationOutcome shape whichever provider reports the error, in JSON and XML."""

from __future__ import annotations

import json

import orjson
import pytest
from conftest import start_server, stop_server
from helpers import assert_fhir, param
from lxml import etree

from service.app import build_chain
from service.config import Settings
from service.errors import NotFound, ServiceError
from service.fhir.outcome import MESSAGE_ID, TX_ISSUE_TYPE
from service.http.outcome import error_body
from service.icd10cm.provider import Icd10cmProvider
from service.terminology.chain import (
    CODESYSTEM_VALIDATE,
    EXPAND,
    LOOKUP,
    SUBSUMES,
    VALUESET_VALIDATE,
    Forwardable,
    OperationRequest,
)
from service.terminology.engine import Engine
from service.terminology.files import read_bundle, resource_folders
from service.terminology.forward import Forwarded, UpstreamProvider

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
GENDER = "http://hl7.org/fhir/administrative-gender"
COLORS = "http://example.org/fhir/CodeSystem/colors"
COLORS_RESOURCE = {
    "resourceType": "CodeSystem",
    "id": "colors",
    "url": COLORS,
    "version": "1",
    "name": "Colors",
    "status": "active",
    "content": "complete",
    "concept": [{"code": "red", "display": "Red"}, {"code": "green", "display": "Green"}],
}


@pytest.fixture(scope="module")
def chain(settings, engine):
    return build_chain(settings, engine, read_bundle(settings.store, resource_folders(settings)))


def ask(chain, operation: str, resource_id: str | None = None, **flat):
    request = OperationRequest(operation, {name: [value] for name, value in flat.items()}, resource_id=resource_id)
    return chain.provider_for(request), chain.answer(request)


def checked(resource: dict, resource_type: str) -> dict:
    assert_fhir(resource, resource_type)
    return resource


def as_dict(answer) -> dict:
    """A provider's answer as the FHIR resource it stands for (a lookup is written from its pieces)."""
    if isinstance(answer, dict):
        return answer
    return orjson.loads(answer.json() if hasattr(answer, "json") else answer)


# -- ICD-10-CM from its store ------------------------------------------------------------------------
def test_icd10cm_answers_its_own_operations(chain):
    provider, answer = ask(chain, LOOKUP, system=ICD10CM, code="M54.50")
    assert isinstance(provider, Icd10cmProvider)
    lookup = checked(as_dict(answer), "Parameters")
    assert param(lookup, "display") == "Low back pain, unspecified"

    _, answer = ask(chain, CODESYSTEM_VALIDATE, url=ICD10CM, code="M54.5", abstract="false")
    validation = checked(as_dict(answer), "Parameters")
    assert param(validation, "result") is False  # a header code, not billable, where abstract codes are refused

    _, answer = ask(chain, SUBSUMES, system=ICD10CM, codeA="M54", codeB="M54.50")
    assert param(checked(answer, "Parameters"), "outcome") == "subsumes"

    provider, answer = ask(chain, EXPAND, url=f"{ICD10CM}?fhir_vs", filter="low back pain", count="5")
    assert isinstance(provider, Icd10cmProvider)
    expansion = checked(answer, "ValueSet")["expansion"]
    assert "M54.50" in {c["code"] for c in expansion["contains"]}

    _, answer = ask(chain, VALUESET_VALIDATE, url=f"{ICD10CM}?fhir_vs=isa/M54", system=ICD10CM, code="J45.909")
    assert param(checked(as_dict(answer), "Parameters"), "result") is False


def test_icd10cm_answers_for_its_instances_and_refuses_another_system_at_instance_level(chain, engine):
    codesystem_id = chain.resources("CodeSystem")[0]["id"]
    provider, answer = ask(chain, LOOKUP, codesystem_id, code="S06.0X0A")
    assert isinstance(provider, Icd10cmProvider)
    assert param(as_dict(answer), "code") == "S06.0X0A"
    with pytest.raises(ServiceError) as refused:
        ask(chain, LOOKUP, codesystem_id, system=GENDER, code="male")
    assert refused.value.status == 400


# -- the in-memory engine ---------------------------------------------------------------------------
def test_the_in_memory_engine_answers_its_files_and_what_a_request_sends(chain):
    provider, answer = ask(chain, LOOKUP, system=GENDER, code="female")
    assert isinstance(provider, Engine)
    assert param(checked(answer, "Parameters"), "display") == "Female"

    sent = [{"name": "tx-resource", "resource": COLORS_RESOURCE}, {"name": "url", "valueUri": f"{COLORS}?fhir_vs"}]
    request = OperationRequest(EXPAND, {"url": [f"{COLORS}?fhir_vs"], "tx-resource": [COLORS_RESOURCE]}, sent)
    assert isinstance(chain.provider_for(request), Engine)
    expansion = checked(chain.answer(request), "ValueSet")["expansion"]
    assert {c["code"] for c in expansion["contains"]} == {"red", "green"}


def test_a_value_set_mixing_icd10cm_and_another_system_is_answered_by_the_in_memory_engine(chain):
    mixed = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/mixed",
        "status": "active",
        "compose": {
            "include": [
                {"system": ICD10CM, "concept": [{"code": "M54.50"}]},
                {"system": GENDER, "concept": [{"code": "other"}]},
            ]
        },
    }
    request = OperationRequest(EXPAND, {"valueSet": [mixed]}, [{"name": "valueSet", "resource": mixed}])
    assert isinstance(chain.provider_for(request), Engine)
    contains = checked(chain.answer(request), "ValueSet")["expansion"]["contains"]
    assert {(c["system"], c["code"]) for c in contains} == {(ICD10CM, "M54.50"), (GENDER, "other")}
    assert next(c for c in contains if c["code"] == "M54.50")["display"] == "Low back pain, unspecified"


def test_nobody_holds_an_unknown_system_and_the_in_memory_engine_says_so(chain):
    request = OperationRequest(LOOKUP, {"system": ["http://example.org/unknown"], "code": ["x"]})
    assert chain.provider_for(request) is chain.fallback
    with pytest.raises(NotFound, match="could not be found"):
        chain.answer(request)


def test_an_instance_nobody_publishes_is_not_found(chain):
    with pytest.raises(NotFound, match="ValueSet/nothing-here is not known"):
        ask(chain, EXPAND, "nothing-here")
    with pytest.raises(NotFound, match="CodeSystem/nothing-here is not known"):
        chain.read("CodeSystem", "nothing-here")


# -- an upstream server, last ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def upstream(store_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain-upstream")
    (folder / "colors.json").write_text(json.dumps(COLORS_RESOURCE))
    process, base = start_server(
        store_dir, tmp_path_factory.mktemp("chain-logs") / "upstream.log", {"ICD10CM_TX_RESOURCE_DIRS": str(folder)}
    )
    try:
        yield base
    finally:
        stop_server(process)


def test_what_only_an_upstream_holds_goes_to_it_as_it_came(store_dir, engine, upstream):
    settings = Settings(store=store_dir, upstreams=json.dumps([{"url": upstream, "systems": [COLORS]}]))
    chain = build_chain(settings, engine, read_bundle(settings.store, resource_folders(settings)))
    request = OperationRequest(
        LOOKUP,
        {"system": [COLORS], "code": ["green"]},
        forwardable=Forwardable("GET", "/CodeSystem/$lookup", f"system={COLORS}&code=green".encode()),
    )
    assert isinstance(chain.provider_for(request), UpstreamProvider)
    answer = chain.answer(request)
    assert isinstance(answer, Forwarded)
    assert answer.answer.status == 200 and answer.answer.server == upstream
    assert param(checked(orjson.loads(answer.answer.body), "Parameters"), "display") == "Green"
    # What this server holds is still answered here.
    assert isinstance(chain.provider_for(OperationRequest(LOOKUP, {"system": [GENDER], "code": ["male"]})), Engine)


# -- one OperationOutcome shape ---------------------------------------------------------------------
def _shape(value):
    """The structure of a JSON value: keys and nesting, with the texts and codes left out."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


def _xml_shape(element) -> list:
    return [(etree.QName(child).localname, sorted(child.attrib), _xml_shape(child)) for child in element]


def _unknown_code(client, system: str, accept: str):
    return client.get(
        "/fhir/CodeSystem/$lookup", query_string={"system": system, "code": "no-such-code"}, headers={"Accept": accept}
    )


def test_an_error_has_one_shape_whichever_provider_reports_it(client, chain):
    answers = {}
    for system in (ICD10CM, GENDER):
        with pytest.raises(NotFound) as error:
            ask(chain, LOOKUP, system=system, code="no-such-code")
        answers[system] = checked(error_body(error.value), "OperationOutcome")
    icd10cm, in_memory = answers[ICD10CM]["issue"][0], answers[GENDER]["issue"][0]
    assert _shape(icd10cm) == _shape(in_memory)
    for issue in (icd10cm, in_memory):
        assert issue["extension"] == [{"url": MESSAGE_ID, "valueString": "Unknown_Code_in_Version"}]
        assert issue["details"]["coding"] == [{"system": TX_ISSUE_TYPE, "code": "invalid-code"}]
        assert (issue["severity"], issue["code"]) == ("error", "not-found")

    json_answers = [_unknown_code(client, system, "application/fhir+json") for system in (ICD10CM, GENDER)]
    assert [r.status_code for r in json_answers] == [404, 404]
    assert _shape(json_answers[0].get_json()) == _shape(json_answers[1].get_json())

    xml_answers = [_unknown_code(client, system, "application/fhir+xml") for system in (ICD10CM, GENDER)]
    assert [r.status_code for r in xml_answers] == [404, 404]
    trees = [etree.fromstring(r.data) for r in xml_answers]
    assert etree.QName(trees[0]).localname == "OperationOutcome"
    assert _xml_shape(trees[0]) == _xml_shape(trees[1])
