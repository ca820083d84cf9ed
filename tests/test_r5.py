"""FHIR R5 beside R4 on the same data (issue 21): ``[base]/r5``, or the base with ``fhirVersion=5.0`` in the
media type (https://hl7.org/fhir/R5/http.html#version-parameter), with ``$versions`` naming both.

Every R5 answer here is validated with fhir.resources' R5 models (assert_fhir_response reads the
``fhirVersion`` of the content type), every R4 one with R4B's. The HL7 suites run in R5 mode in
test_tx_ecosystem.py."""

from __future__ import annotations

import pytest
from fhir.resources.conceptmap import ConceptMap as R5ConceptMap
from helpers import assert_fhir, assert_fhir_response, param

from service.fhir.r5 import CONTAINS_PROPERTY, EXPANSION_PROPERTY, to_r5

R5_JSON = "application/fhir+json; fhirVersion=5.0"
GENDER = "http://hl7.org/fhir/administrative-gender"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def _versions(body: dict) -> tuple[list[str], str]:
    spoken = [p["valueCode"] for p in body["parameter"] if p["name"] == "version"]
    return spoken, param(body, "default")


def test_versions_names_both_and_each_endpoint_its_default(client):
    assert _versions(assert_fhir_response(client.get("/fhir/$versions"), 200, "Parameters")) == (["4.0", "5.0"], "4.0")
    assert _versions(assert_fhir_response(client.get("/fhir/r5/$versions"), 200, "Parameters")) == (
        ["4.0", "5.0"],
        "5.0",
    )


def test_r5_capability_statements(client):
    statement = assert_fhir_response(client.get("/fhir/r5/metadata"), 200, "CapabilityStatement")
    assert statement["fhirVersion"] == "5.0.0"
    assert statement["implementation"]["url"].endswith("/fhir/r5")
    assert assert_fhir_response(client.get("/fhir/metadata"), 200, "CapabilityStatement")["fhirVersion"] == "4.0.1"
    r5 = assert_fhir_response(client.get("/fhir/r5/metadata?mode=terminology"), 200, "TerminologyCapabilities")
    r4 = assert_fhir_response(client.get("/fhir/metadata?mode=terminology"), 200, "TerminologyCapabilities")
    # R5's codeSystem.content is an element, not R4's cross-version extension
    assert all(entry["content"] == "complete" and "extension" not in entry for entry in r5["codeSystem"])
    assert all("content" not in entry for entry in r4["codeSystem"])
    versions = {
        label: {e["uri"]: [v["code"] for v in e.get("version", ())] for e in caps["codeSystem"]}
        for label, caps in (("r4", r4), ("r5", r5))
    }
    assert versions["r4"][GENDER] == ["4.0.1"]
    assert "5.0.0" in versions["r5"][GENDER]
    assert versions["r5"][ICD10CM] == versions["r4"][ICD10CM] != []


def test_an_unversioned_core_code_system_means_the_endpoints_own_version(client):
    value_set = {"resourceType": "ValueSet", "status": "active", "compose": {"include": [{"system": GENDER}]}}
    body = {"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": value_set}]}
    for path, version in (("/fhir", "4.0.1"), ("/fhir/r5", "5.0.0")):
        expansion = assert_fhir_response(client.post(f"{path}/ValueSet/$expand", json=body), 200, "ValueSet")
        assert param(expansion["expansion"], "used-codesystem") == f"{GENDER}|{version}"
        assert {c["code"] for c in expansion["expansion"]["contains"]} == {"male", "female", "other", "unknown"}


def test_the_media_type_parameter_chooses_the_version_at_the_base(client):
    r5 = client.get("/fhir/metadata", headers={"Accept": R5_JSON})
    assert "fhirVersion=5.0" in r5.headers["Content-Type"]
    assert assert_fhir_response(r5, 200, "CapabilityStatement")["fhirVersion"] == "5.0.0"
    r4 = client.get("/fhir/metadata", headers={"Accept": "application/fhir+json; fhirVersion=4.0"})
    assert assert_fhir_response(r4, 200, "CapabilityStatement")["fhirVersion"] == "4.0.1"
    # a body in R5, no Accept
    posted = client.post(
        "/fhir/ValueSet/$expand",
        data=b'{"resourceType":"Parameters","parameter":[{"name":"url","valueUri":"http://hl7.org/fhir/ValueSet/administrative-gender"}]}',
        headers={"Content-Type": R5_JSON},
    )
    assert param(assert_fhir_response(posted, 200, "ValueSet")["expansion"], "used-codesystem").endswith("|5.0.0")


@pytest.mark.parametrize(
    ("path", "headers", "says"),
    [
        ("/fhir/metadata", {"Accept": "application/fhir+json; fhirVersion=3.0"}, "not fhirVersion=3.0"),
        ("/fhir/metadata", {"Accept": "application/fhir+json; fhirVersion=6.0"}, "not fhirVersion=6.0"),
        ("/fhir/r5/metadata", {"Accept": "application/fhir+json; fhirVersion=4.0"}, "R5 endpoint"),
        ("/fhir/r5/metadata", {"Accept": "application/fhir+xml"}, "JSON"),
        ("/fhir/r5/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=E11.9&_format=xml", {}, "JSON"),
    ],
)
def test_a_version_or_format_not_spoken_is_a_406_outcome(client, path, headers, says):
    outcome = assert_fhir_response(client.get(path, headers=headers), 406, "OperationOutcome")
    assert says in outcome["issue"][0]["details"]["text"]


def test_an_xml_body_at_r5_is_a_415_outcome(client):
    response = client.post(
        "/fhir/r5/ValueSet/$expand",
        data=b'<Parameters xmlns="http://hl7.org/fhir"/>',
        headers={"Content-Type": "application/fhir+xml"},
    )
    assert "application/fhir+json" in assert_fhir_response(response, 415)["issue"][0]["details"]["text"]


EXPAND = f"ValueSet/$expand?url={ICD10CM}?fhir_vs=isa/E11.2&property=billable&property=parent"


def test_icd10cm_expansion_properties_are_r5_elements_at_r5(client):
    r5 = assert_fhir_response(client.get(f"/fhir/r5/{EXPAND}"), 200, "ValueSet")["expansion"]
    r4 = assert_fhir_response(client.get(f"/fhir/{EXPAND}"), 200, "ValueSet")["expansion"]
    assert [p["code"] for p in r5["property"]] == ["billable", "parent"]
    assert "property" not in r4 and [e["url"] for e in r4["extension"]] == [EXPANSION_PROPERTY] * 2
    by_code = {c["code"]: c for c in r5["contains"]}
    assert {p["code"]: p["valueBoolean"] for p in by_code["E11.21"]["property"] if p["code"] == "billable"} == {
        "billable": True
    }
    assert {"code": "parent", "valueCode": "E11.2"} in by_code["E11.21"]["property"]
    assert all("extension" not in c for c in r5["contains"])
    assert all(e["url"] == CONTAINS_PROPERTY for c in r4["contains"] for e in c["extension"])
    assert [c["code"] for c in r5["contains"]] == [c["code"] for c in r4["contains"]]


def test_lookup_and_validation_answer_the_same_at_both_endpoints(client):
    for query in (
        f"CodeSystem/$lookup?system={ICD10CM}&code=E11.9",
        f"CodeSystem/$validate-code?url={ICD10CM}&code=E11.9&display=wrong",
        f"ValueSet/$validate-code?url={ICD10CM}?fhir_vs&system={ICD10CM}&code=E11",
    ):
        r4 = assert_fhir_response(client.get(f"/fhir/{query}"), 200, "Parameters")
        r5 = assert_fhir_response(client.get(f"/fhir/r5/{query}"), 200, "Parameters")
        assert r4 == r5, query


def test_the_answer_cache_keeps_each_version_apart(client):
    url = "/fhir/metadata"
    first = [client.get(url, headers={"Accept": h}) for h in ("application/fhir+json", R5_JSON)] * 2
    assert [r.get_json()["fhirVersion"] for r in first] == ["4.0.1", "5.0.0"] * 2
    assert first[0].headers["ETag"] != first[1].headers["ETag"]


TRANSLATE_MAP = {
    "resourceType": "ConceptMap",
    "url": "http://example.org/cm/r5-test",
    "version": "1",
    "status": "active",
    "group": [
        {
            "source": "http://example.org/a",
            "target": "http://example.org/b",
            "element": [
                {"code": "x", "target": [{"code": "y", "relationship": "source-is-narrower-than-target"}]},
                {"code": "z", "noMap": True},
            ],
        }
    ],
}


def test_translate_speaks_relationship_at_r5_and_equivalence_at_r4(client):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": "http://example.org/cm/r5-test"},
            {"name": "system", "valueUri": "http://example.org/a"},
            {"name": "code", "valueCode": "x"},
            {"name": "tx-resource", "resource": TRANSLATE_MAP},
        ],
    }
    r5 = assert_fhir_response(client.post("/fhir/r5/ConceptMap/$translate", json=body), 200, "Parameters")
    r4 = assert_fhir_response(client.post("/fhir/ConceptMap/$translate", json=body), 200, "Parameters")
    r5_parts = {p["name"]: p for p in param(r5, "match")}
    r4_parts = {p["name"]: p for p in param(r4, "match")}
    assert r5_parts["relationship"]["valueCode"] == "source-is-narrower-than-target"
    assert "equivalence" not in r5_parts
    assert r4_parts["equivalence"]["valueCode"] == "wider" and "relationship" not in r4_parts


def test_an_r4_concept_map_becomes_a_valid_r5_one():
    r4 = {
        "resourceType": "ConceptMap",
        "url": "http://example.org/cm",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3"},
        "status": "active",
        "sourceUri": "http://example.org/vs/a",
        "targetCanonical": "http://example.org/vs/b",
        "group": [
            {
                "source": "http://example.org/a",
                "sourceVersion": "2",
                "target": "http://example.org/b",
                "element": [
                    {
                        "code": "x",
                        "target": [
                            {"code": "y", "equivalence": "narrower"},
                            {
                                "code": "w",
                                "equivalence": "inexact",
                                "dependsOn": [{"property": "http://example.org/p", "system": "http://s", "value": "v"}],
                            },
                        ],
                    },
                    {"code": "z", "target": [{"equivalence": "unmatched"}]},
                ],
                "unmapped": {"mode": "provided"},
            }
        ],
    }
    assert_fhir(r4, "ConceptMap")
    r5 = to_r5(r4)
    R5ConceptMap.model_validate(r5)
    group = r5["group"][0]
    assert r5["identifier"][0]["value"] == "urn:oid:1.2.3"
    assert (r5["sourceScopeUri"], r5["targetScopeCanonical"]) == ("http://example.org/vs/a", "http://example.org/vs/b")
    assert group["source"] == "http://example.org/a|2" and "sourceVersion" not in group
    x, z = group["element"]
    assert [t["relationship"] for t in x["target"]] == ["source-is-broader-than-target", "related-to"]
    assert x["target"][1]["dependsOn"] == [
        {"attribute": "http://example.org/p", "valueCoding": {"system": "http://s", "code": "v"}}
    ]
    assert z == {"code": "z", "noMap": True}
    assert group["unmapped"] == {"mode": "use-source-code"}


def test_expansion_property_extensions_with_subproperties_become_r5_elements():
    r4 = {
        "resourceType": "ValueSet",
        "status": "active",
        "expansion": {
            "timestamp": "2026-01-01T00:00:00Z",
            "extension": [{"url": EXPANSION_PROPERTY, "extension": [{"url": "code", "valueCode": "p"}]}],
            "contains": [
                {
                    "code": "a",
                    "extension": [
                        {
                            "url": CONTAINS_PROPERTY,
                            "extension": [
                                {"url": "code", "valueCode": "p"},
                                {"url": "value", "valueString": "v"},
                                {
                                    "url": "subProperty",
                                    "extension": [
                                        {"url": "code", "valueCode": "q"},
                                        {"url": "value", "valueInteger": 2},
                                    ],
                                },
                            ],
                        },
                        {"url": "http://example.org/other", "valueString": "kept"},
                    ],
                    "contains": [
                        {
                            "code": "b",
                            "extension": [
                                {
                                    "url": CONTAINS_PROPERTY,
                                    "extension": [
                                        {"url": "code", "valueCode": "p"},
                                        {"url": "value", "valueBoolean": True},
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ],
        },
    }
    r5 = to_r5(r4)
    assert_fhir(r5, "ValueSet", "5.0")
    a = r5["expansion"]["contains"][0]
    assert r5["expansion"]["property"] == [{"code": "p"}] and "extension" not in r5["expansion"]
    assert a["property"] == [{"code": "p", "valueString": "v", "subProperty": [{"code": "q", "valueInteger": 2}]}]
    assert a["extension"] == [{"url": "http://example.org/other", "valueString": "kept"}]
    assert a["contains"][0]["property"] == [{"code": "p", "valueBoolean": True}]
