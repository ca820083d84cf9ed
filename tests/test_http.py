"""The FHIR HTTP layer through Flask's test client: every route, both bindings, and every error."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from helpers import (
    FHIR_JSON,
    ICD10CM,
    ICD10CM_OID,
    TX_ISSUE_TYPE,
    assert_fhir_response,
    inclusion_designations,
    param,
    params_named,
    properties,
)

from service.app import create_app
from service.config import Settings
from service.icd10cm.operations import Icd10cm

LOOKUP = "/fhir/CodeSystem/$lookup"
VALIDATE = "/fhir/CodeSystem/$validate-code"
INSTANCE = "/fhir/CodeSystem/icd10cm-2026-04"


def get(client, path, params=None, **kwargs):
    query = urlencode(params or {}, doseq=True)
    return client.get(f"{path}?{query}" if query else path, **kwargs)


def post(client, path, parameters, query=None, content_type=FHIR_JSON):
    body = {"resourceType": "Parameters", "parameter": parameters}
    url = f"{path}?{urlencode(query)}" if query else path
    return client.post(url, data=json.dumps(body), content_type=content_type)


def ok(response, resource_type="Parameters"):
    return assert_fhir_response(response, 200, resource_type)


def error(response, status, issue_code=None):
    body = assert_fhir_response(response, status, "OperationOutcome")
    if issue_code is not None:
        assert body["issue"][0]["code"] == issue_code, body
    return body


def issue_text(body) -> str:
    return " ".join(i["details"]["text"] for i in body["issue"])


# ------------------------------------------------------------------------------------------ $lookup


def check_m54_9(body):
    assert param(body, "name") == "ICD-10-CM"
    assert param(body, "version") == "2026-04"
    assert param(body, "display") == "Dorsalgia, unspecified"
    assert param(body, "code") == "M54.9"
    assert param(body, "system") == ICD10CM
    preferred = [d for d in params_named(body, "designation") if any(p["name"] == "use" for p in d)]
    assert len(preferred) == 1
    assert {p["name"]: p for p in preferred[0]}["value"]["valueString"] == "Dorsalgia, unspecified"
    assert inclusion_designations(body) == ["Backache NOS", "Back pain NOS"]
    props = properties(body)
    assert [p["value"] for p in props if p["code"] == "parent"] == ["M54"]
    assert [p["value"] for p in props if p["code"] == "billable"] == [True]
    assert [p["value"] for p in props if p["code"] == "notSelectable"] == [False]
    assert [p["value"] for p in props if p["code"] == "chapter"] == ["13"]
    assert [p["value"] for p in props if p["code"] == "block"] == ["M50-M54", "M40-M54"]
    excludes1 = {p["value"]: p["subproperties"] for p in props if p["code"] == "excludes1"}
    assert excludes1["psychogenic dorsalgia (F45.41)"] == {
        "level": ["ancestor"],
        "source": ["M54"],
        "reference": ["F45.41"],
    }


@pytest.mark.parametrize("system", [ICD10CM, ICD10CM_OID])
def test_lookup_get(client, system):
    check_m54_9(ok(get(client, LOOKUP, {"system": system, "code": "M54.9"})))


def test_lookup_post(client):
    check_m54_9(
        ok(post(client, LOOKUP, [{"name": "system", "valueUri": ICD10CM}, {"name": "code", "valueCode": "M54.9"}]))
    )


def test_lookup_coding_post(client):
    body = ok(post(client, LOOKUP, [{"name": "coding", "valueCoding": {"system": ICD10CM, "code": "M54.9"}}]))
    check_m54_9(body)


def test_lookup_coding_get(client):
    check_m54_9(ok(get(client, LOOKUP, {"coding": f"{ICD10CM}|M54.9"})))


def test_lookup_instance_level(client):
    check_m54_9(ok(get(client, f"{INSTANCE}/$lookup", {"code": "M54.9"})))
    check_m54_9(ok(post(client, f"{INSTANCE}/$lookup", [{"name": "code", "valueCode": "M54.9"}])))
    check_m54_9(ok(get(client, f"{INSTANCE}/$lookup", {"code": "M54.9", "system": ICD10CM, "version": "2026-04"})))


def test_lookup_instance_level_conflicts(client):
    error(get(client, f"{INSTANCE}/$lookup", {"code": "M54.9", "system": "http://snomed.info/sct"}), 400)
    error(get(client, f"{INSTANCE}/$lookup", {"code": "M54.9", "version": "2025"}), 400)
    error(get(client, "/fhir/CodeSystem/icd10cm-2019/$lookup", {"code": "M54.9"}), 404)


def test_lookup_property_filter(client):
    body = ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "property": ["parent", "billable"]}))
    assert [p["code"] for p in properties(body)] == ["parent", "billable"]
    assert param(body, "display") == "Dorsalgia, unspecified"
    body = ok(
        post(
            client,
            LOOKUP,
            [
                {"name": "system", "valueUri": ICD10CM},
                {"name": "code", "valueCode": "M54.9"},
                {"name": "property", "valueCode": "chapter"},
            ],
        )
    )
    assert [p["code"] for p in properties(body)] == ["chapter"]


def test_lookup_property_star(client):
    star = ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "property": "*"}))
    plain = ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9"}))
    assert star == plain


def test_lookup_properties_are_declared_by_the_code_system_or_its_guidance_supplement(client):
    declared = {p["code"] for p in ok(client.get(INSTANCE), "CodeSystem")["property"]}
    supplement = ok(client.get("/fhir/CodeSystem/icd10cm-guidance"), "CodeSystem")
    assert supplement["content"] == "supplement" and supplement["supplements"] == ICD10CM
    declared |= {p["code"] for p in supplement["property"]}
    for code in ("M54.9", "M54.5", "S52.501", "S52.501B", "T07", "C50.911", "Z3A.00"):
        used = {p["code"] for p in properties(ok(get(client, LOOKUP, {"system": ICD10CM, "code": code})))}
        assert used <= declared, (code, used - declared)


@pytest.mark.parametrize("code", ["S52.501", "S52.501B", "S06.1X7", "T07", "H34.8110"])
@pytest.mark.parametrize("wanted", ["sevenChrDef", "sevenChrNote", "child"])
def test_lookup_single_property_on_seventh_character_codes(client, code, wanted):
    response = get(client, LOOKUP, {"system": ICD10CM, "code": code, "property": wanted})
    body = ok(response)
    assert {p["code"] for p in properties(body)} <= {wanted}


def test_lookup_seventh_character_table(client):
    body = ok(get(client, LOOKUP, {"system": ICD10CM, "code": "S52.501B"}))
    [b] = [p for p in properties(body) if p["code"] == "sevenChrDef"]
    assert b["value"] == "B"
    assert b["subproperties"]["inclusionTerm"] == ["initial encounter for open fracture NOS"]


def test_lookup_normalized_code(client):
    body = ok(get(client, LOOKUP, {"system": ICD10CM, "code": "m549"}))
    assert param(body, "code") == "M54.9"
    assert param(body, "normalized-code") == "M54.9"
    assert param(ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9"})), "normalized-code") is None


def test_lookup_version_and_date(client):
    assert (
        param(ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "version": "2026-04"})), "version")
        == "2026-04"
    )
    assert (
        param(ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "date": "2026-06-01"})), "version")
        == "2026-04"
    )
    body = error(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "version": "2019"}), 404, "not-found")
    assert "2019" in issue_text(body)
    error(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "date": "2020-01-01"}), 404, "not-found")


@pytest.mark.parametrize("date", ["not-a-date", "tomorrow", "9999-99-99"])
def test_lookup_invalid_date_is_refused(client, date):
    error(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "date": date}), 400)


def test_lookup_unknown_code_is_404(client):
    body = error(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.99"}), 404, "not-found")
    assert "M54.99" in issue_text(body)
    assert body["issue"][0]["details"]["coding"] == [{"system": TX_ISSUE_TYPE, "code": "invalid-code"}]
    assert body["issue"][0]["expression"] == ["code"]
    error(post(client, LOOKUP, [{"name": "system", "valueUri": ICD10CM}, {"name": "code", "valueCode": "M54.99"}]), 404)


def test_lookup_unknown_system_is_404(client):
    body = error(get(client, LOOKUP, {"system": "http://snomed.info/sct", "code": "M54.9"}), 404, "not-found")
    assert "http://snomed.info/sct" in issue_text(body)


@pytest.mark.parametrize(
    "params",
    [
        {"system": ICD10CM},
        {"system": ICD10CM, "code": ""},
        {"code": "M54.9"},
        {},
        {"coding": "M54.9"},  # a Coding in a URL is system|code
        {"coding": f"{ICD10CM}|M54.9", "code": "M54.9"},
    ],
)
def test_lookup_bad_requests_are_400(client, params):
    error(get(client, LOOKUP, params), 400)


# ----------------------------------------------------------------------------------- $validate-code


def check_valid(body, code="M54.9", display="Dorsalgia, unspecified"):
    assert param(body, "result") is True, body
    assert param(body, "display") == display
    assert param(body, "system") == ICD10CM
    assert param(body, "version") == "2026-04"
    return body


def test_validate_get(client):
    body = check_valid(ok(get(client, VALIDATE, {"url": ICD10CM, "code": "M54.9", "guidance": "none"})))
    assert param(body, "code") == "M54.9"
    assert param(body, "issues") is None
    assert param(body, "message") is None


def test_validate_get_with_system_instead_of_url(client):
    check_valid(ok(get(client, VALIDATE, {"system": ICD10CM, "code": "M54.9"})))
    check_valid(ok(get(client, VALIDATE, {"url": ICD10CM_OID, "code": "M54.9"})))


def test_validate_post(client):
    check_valid(
        ok(
            post(
                client,
                VALIDATE,
                [
                    {"name": "url", "valueUri": ICD10CM},
                    {"name": "code", "valueCode": "M54.9"},
                    {"name": "display", "valueString": "Dorsalgia, unspecified"},
                ],
            )
        )
    )


def test_validate_instance_level(client):
    check_valid(ok(get(client, f"{INSTANCE}/$validate-code", {"code": "M54.9"})))
    check_valid(ok(post(client, f"{INSTANCE}/$validate-code", [{"name": "code", "valueCode": "M54.9"}])))
    error(get(client, f"{INSTANCE}/$validate-code", {"code": "M54.9", "url": "http://snomed.info/sct"}), 400)


def test_validate_coding(client):
    body = check_valid(
        ok(
            post(
                client,
                VALIDATE,
                [
                    {
                        "name": "coding",
                        "valueCoding": {"system": ICD10CM, "code": "M54.9", "display": "Dorsalgia, unspecified"},
                    }
                ],
            )
        )
    )
    assert param(body, "code") == "M54.9"
    check_valid(ok(get(client, VALIDATE, {"coding": f"{ICD10CM}|M54.9"})))
    body = ok(post(client, VALIDATE, [{"name": "coding", "valueCoding": {"system": ICD10CM, "code": "M54.99"}}]))
    assert param(body, "result") is False
    assert param(body, "issues")["issue"][0]["expression"] == ["Coding.code"]


def test_validate_codeable_concept(client):
    concept = {
        "coding": [{"system": "http://snomed.info/sct", "code": "279039007"}, {"system": ICD10CM, "code": "M54.9"}],
        "text": "back pain",
    }
    body = ok(
        post(
            client,
            VALIDATE,
            [{"name": "codeableConcept", "valueCodeableConcept": concept}, {"name": "guidance", "valueCode": "none"}],
        )
    )
    check_valid(body)
    echoed = param(body, "codeableConcept")
    assert [c["code"] for c in echoed["coding"]] == ["279039007", "M54.9"]
    assert param(body, "code") is None
    [issue] = param(body, "issues")["issue"]
    assert issue["severity"] == "warning"
    assert params_named(body, "x-unknown-system") == ["http://snomed.info/sct"]


@pytest.mark.parametrize("concept", [{"coding": []}, {"text": "back pain"}])
def test_validate_codeable_concept_without_codings(client, concept):
    response = post(client, VALIDATE, [{"name": "codeableConcept", "valueCodeableConcept": concept}])
    body = assert_fhir_response(response)
    if response.status_code == 200:
        assert param(body, "result") is False


def test_validate_codeable_concept_in_get_is_400(client):
    error(get(client, VALIDATE, {"codeableConcept": "M54.9"}), 400)


def test_validate_header(client):
    body = ok(get(client, VALIDATE, {"url": ICD10CM, "code": "M54.5"}))
    assert param(body, "result") is True
    [issue] = param(body, "issues")["issue"]
    assert issue["severity"] == "warning"
    assert "M54.50, M54.51, M54.59" in issue["details"]["text"]
    assert param(body, "message") == issue["details"]["text"]
    body = ok(get(client, VALIDATE, {"url": ICD10CM, "code": "M54.5", "abstract": "false"}))
    assert param(body, "result") is False
    assert param(body, "issues")["issue"][0]["severity"] == "error"
    body = ok(
        post(
            client,
            VALIDATE,
            [
                {"name": "url", "valueUri": ICD10CM},
                {"name": "code", "valueCode": "M54.5"},
                {"name": "abstract", "valueBoolean": False},
            ],
        )
    )
    assert param(body, "result") is False


def test_validate_wrong_display(client):
    body = ok(get(client, VALIDATE, {"url": ICD10CM, "code": "M54.9", "display": "Back pain", "guidance": "none"}))
    assert param(body, "result") is False
    assert param(body, "display") == "Dorsalgia, unspecified"
    [issue] = param(body, "issues")["issue"]
    assert issue["details"]["coding"] == [{"system": TX_ISSUE_TYPE, "code": "invalid-display"}]
    assert "'Dorsalgia, unspecified'" in issue["details"]["text"]
    assert issue["expression"] == ["display"]
    assert "Dorsalgia, unspecified" in param(body, "message")


def test_validate_issues_carry_tx_issue_type(client):
    body = ok(get(client, VALIDATE, {"url": ICD10CM, "code": "T45.01A"}))
    assert param(body, "result") is False
    issues = param(body, "issues")["issue"]
    assert [(i["severity"], i["details"]["coding"][0]["code"]) for i in issues] == [
        ("error", "invalid-code"),
        ("information", "code-comment"),
    ]
    assert all(i["details"]["coding"][0]["system"] == TX_ISSUE_TYPE for i in issues)
    assert "T45.0X1A" in issues[1]["details"]["text"]
    assert "T45.01A" in param(body, "message")


def test_validate_unknown_system(client):
    body = ok(get(client, VALIDATE, {"url": "http://snomed.info/sct", "code": "M54.9"}))
    assert param(body, "result") is False
    assert params_named(body, "x-caused-by-unknown-system") == ["http://snomed.info/sct"]
    [issue] = param(body, "issues")["issue"]
    assert issue["details"]["coding"][0]["code"] == "not-found"


def test_validate_unknown_version(client):
    body = ok(get(client, VALIDATE, {"url": ICD10CM, "code": "M54.9", "version": "2019"}))
    assert param(body, "result") is False
    assert params_named(body, "x-caused-by-unknown-system") == [f"{ICD10CM}|2019"]


def test_validate_normalized(client):
    body = ok(get(client, VALIDATE, {"url": ICD10CM, "code": "m549"}))
    assert param(body, "result") is True
    assert param(body, "code") == "m549"
    assert param(body, "normalized-code") == "M54.9"


@pytest.mark.parametrize(
    "params",
    [
        {"code": "M54.9"},  # no url
        {"url": ICD10CM, "code": "M54.9", "abstract": "maybe"},
        {"coding": "no-bar"},
    ],
)
def test_validate_bad_requests_are_400(client, params):
    error(get(client, VALIDATE, params), 400)


def test_validate_without_code(client):
    body = ok(get(client, VALIDATE, {"url": ICD10CM}))
    assert param(body, "result") is False
    [issue] = param(body, "issues")["issue"]
    assert issue["details"]["coding"][0]["code"] == "invalid-code"
    assert issue["expression"] == ["code"]


@pytest.mark.parametrize("params", [{}, {"url": " ", "code": "M54.9"}, {"coding": "|M54.9"}])
def test_validate_without_system(client, params):
    response = get(client, VALIDATE, params)
    body = assert_fhir_response(response)
    if response.status_code == 200:
        assert param(body, "result") is False
        assert "''" not in param(body, "message")


# --------------------------------------------------------------------------------------- metadata


def test_capability_statement(client):
    body = ok(client.get("/fhir/metadata"), "CapabilityStatement")
    assert body["instantiates"] == ["http://hl7.org/fhir/CapabilityStatement/terminology-server"]
    assert body["fhirVersion"] == "4.0.1"
    assert FHIR_JSON in body["format"] and "json" in body["format"]
    assert body["kind"] == "instance" and body["status"] == "active"
    [rest] = body["rest"]
    assert rest["mode"] == "server"
    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) == {"CodeSystem", "ValueSet", "ConceptMap", "StructureDefinition"}
    codesystem = resources["CodeSystem"]
    assert {i["code"] for i in codesystem["interaction"]} == {"read", "search-type"}
    assert {o["name"]: o["definition"] for o in codesystem["operation"]} == {
        "lookup": "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
        "validate-code": "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code",
        "subsumes": "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes",
        "validate-diagnoses": "https://icd10cm-tx.org/fhir/OperationDefinition/CodeSystem-validate-diagnoses",
    }
    assert {p["name"] for p in codesystem["searchParam"]} == {"url", "version", "name", "title", "status"}
    assert ok(client.get("/fhir/metadata?mode=full"), "CapabilityStatement") == body


CONTENT = "http://hl7.org/fhir/5.0/StructureDefinition/extension-TerminologyCapabilities.codeSystem.content"


def test_terminology_capabilities(client):
    body = ok(client.get("/fhir/metadata?mode=terminology"), "TerminologyCapabilities")
    codesystem, *others = body["codeSystem"]
    assert codesystem["uri"] == ICD10CM
    assert [(v["code"], v["isDefault"]) for v in codesystem["version"]] == [("2026-04", True)]
    # the code systems of codesystems/, answered by the general engine
    assert {
        "uri": "http://hl7.org/fhir/administrative-gender",
        "version": [{"code": "4.0.1", "isDefault": True}],
        "extension": [{"url": CONTENT, "valueCode": "complete"}],
    } in others
    assert codesystem["extension"] == [{"url": CONTENT, "valueCode": "complete"}]


def test_metadata_bad_mode(client):
    error(client.get("/fhir/metadata?mode=everything"), 400, "invalid")


def test_metadata_lists_every_release(multi_store_dir):
    app = create_app(Settings(store=multi_store_dir), engine=Icd10cm.from_store(multi_store_dir))
    client = app.test_client()
    body = ok(client.get("/fhir/metadata?mode=terminology"), "TerminologyCapabilities")
    versions = {v["code"]: v["isDefault"] for v in body["codeSystem"][0]["version"]}
    assert set(versions) == {"2026", "2026-04"}
    assert sum(versions.values()) == 1
    bundle = ok(client.get(f"/fhir/CodeSystem?url={ICD10CM}"), "Bundle")
    assert sorted(e["resource"]["version"] for e in bundle["entry"]) == ["2026", "2026-04"]
    assert ok(client.get(f"/fhir/CodeSystem?url={ICD10CM}&version=2026"), "Bundle")["total"] == 1
    body = ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "version": "2026"}))
    assert param(body, "version") == "2026"
    body = ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "date": "2026-01-01"}))
    assert param(body, "version") == "2026"


# ------------------------------------------------------------------------------------- CodeSystem


def test_codesystem_read(client):
    body = ok(client.get(INSTANCE), "CodeSystem")
    assert body["id"] == "icd10cm-2026-04"
    assert body["url"] == ICD10CM
    assert body["version"] == "2026-04"
    assert body["count"] == 98_186
    assert body["content"] == "not-present"
    assert body["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": ICD10CM_OID}]
    assert body["date"] == "2026-04-01"
    assert {"parent", "child", "billable", "excludes1", "sevenChrDef"} <= {p["code"] for p in body["property"]}


def test_codesystem_read_unknown(client):
    body = error(client.get("/fhir/CodeSystem/icd10cm-2019"), 404, "not-found")
    assert "icd10cm-2019" in issue_text(body)


@pytest.mark.parametrize(
    "params, total",
    [
        (
            {},
            5,
        ),  # ICD-10-CM, the guidance supplement, codesystems/ (administrative-gender, publication-status, diagnosis-check)
        ({"url": ICD10CM}, 1),
        ({"url": ICD10CM_OID}, 1),
        ({"url": "http://hl7.org/fhir/sid/icd-10"}, 0),
        ({"version": "2026-04"}, 2),
        ({"version": "2026"}, 0),
        ({"name": "icd10"}, 2),
        ({"name": "ICD10CM"}, 2),
        ({"name": "snomed"}, 0),
        ({"title": "icd-10-cm fy2026"}, 1),
        ({"title": "FY2026"}, 0),
        ({"status": "active"}, 5),
        ({"status": "retired"}, 0),
        ({"url": ICD10CM, "version": "2026-04", "status": "active"}, 1),
    ],
)
def test_codesystem_search(client, params, total):
    body = ok(get(client, "/fhir/CodeSystem", params), "Bundle")
    assert body["type"] == "searchset"
    assert body["total"] == total
    entries = body.get("entry", [])
    assert len(entries) == total
    for entry in entries:
        assert entry["resource"]["id"] in (
            "icd10cm-2026-04",
            "icd10cm-guidance",
            "administrative-gender",
            "publication-status",
            "diagnosis-check",
        )
        assert entry["fullUrl"].endswith(f"/fhir/CodeSystem/{entry['resource']['id']}")
        assert entry["search"] == {"mode": "match"}
    assert body["link"][0]["relation"] == "self"


def test_codesystem_search_without_match_counts_zero(client):
    response = get(client, "/fhir/CodeSystem", {"status": "retired", "_summary": "count"})
    assert ok(response, "Bundle")["total"] == 0


def test_codesystem_search_summary(client):
    body = ok(get(client, "/fhir/CodeSystem", {"_summary": "true", "url": ICD10CM}), "Bundle")
    [entry] = body["entry"]
    resource = entry["resource"]
    assert "property" not in resource and "description" not in resource
    assert resource["url"] == ICD10CM and resource["count"] == 98_186
    assert resource["meta"]["tag"][0]["code"] == "SUBSETTED"
    count = ok(get(client, "/fhir/CodeSystem", {"_summary": "count"}), "Bundle")
    assert count["total"] == 5 and "entry" not in count  # ICD-10-CM, its guidance supplement, codesystems/
    full = ok(get(client, "/fhir/CodeSystem", {"_summary": "false"}), "Bundle")
    assert "property" in full["entry"][0]["resource"]
    error(get(client, "/fhir/CodeSystem", {"_summary": "bogus"}), 400)


# --------------------------------------------------------------------------------- HTTP and errors


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Patient",
        "/fhir/CodeSystem/icd10cm-2026-04/extra",
        "/nothing-here",
        "/metadata",
        "/fhir/CodeSystem/$closure",
    ],
)
def test_unknown_route_is_404(client, path):
    body = error(client.get(path), 404, "not-found")
    if not path.startswith("/fhir/CodeSystem/$"):  # that one is a read of an unknown CodeSystem id
        assert "metadata" in issue_text(body)


@pytest.mark.parametrize(
    "method, path",
    [
        ("put", LOOKUP),
        ("delete", LOOKUP),
        ("patch", VALIDATE),
        ("post", "/fhir/metadata"),
        ("delete", INSTANCE),
        ("put", INSTANCE),
        ("post", "/fhir/CodeSystem"),
    ],
)
def test_wrong_method_is_405(client, method, path):
    response = getattr(client, method)(path, data="{}", content_type=FHIR_JSON)
    error(response, 405, "not-supported")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("data", ["{", "not json", '{"resourceType": "Parameters", "parameter": [}', "\xff"])
def test_bad_json_is_400(client, data):
    error(client.post(LOOKUP, data=data, content_type=FHIR_JSON), 400, "invalid")


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient"},
        {"parameter": []},
        [],
        "Parameters",
        42,
        None,
        {"resourceType": "Parameters", "parameter": {"name": "code"}},
        {"resourceType": "Parameters", "parameter": ["code"]},
        {"resourceType": "Parameters", "parameter": [{"valueCode": "M54.9"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "", "valueCode": "M54.9"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": "M54.9", "valueString": "M54.9"}]},
    ],
)
def test_malformed_parameters_are_400(client, body):
    for path in (LOOKUP, VALIDATE):
        error(client.post(path, data=json.dumps(body), content_type=FHIR_JSON), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client, content_type):
    body = json.dumps({"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": "M54.9"}]})
    kwargs = {"content_type": content_type} if content_type else {}
    error(client.post(LOOKUP, data=body, **kwargs), 415, "not-supported")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/fhir+json; charset=utf-8", "application/json+fhir"]
)
def test_json_content_types_are_accepted(client, content_type):
    check_m54_9(
        ok(
            post(
                client,
                LOOKUP,
                [{"name": "system", "valueUri": ICD10CM}, {"name": "code", "valueCode": "M54.9"}],
                content_type=content_type,
            )
        )
    )


@pytest.fixture(scope="module")
def small_client(store_dir, engine):
    app = create_app(Settings(store=store_dir, max_body_bytes=2_000, max_parameters=5), engine=engine)
    return app.test_client()


def test_body_too_large_is_413(small_client):
    parameters = [
        {"name": "system", "valueUri": ICD10CM},
        {"name": "code", "valueCode": "M54.9"},
        {"name": "x-padding", "valueString": "x" * 3_000},
    ]
    error(post(small_client, LOOKUP, parameters), 413, "too-long")
    # Just under the limit is fine.
    check_m54_9(ok(post(small_client, LOOKUP, parameters[:2] + [{"name": "x", "valueString": "x" * 1_500}])))


def test_too_many_parameters_is_400(small_client, client):
    many = [{"name": f"x{i}", "valueString": "x"} for i in range(6)]
    base = [{"name": "system", "valueUri": ICD10CM}, {"name": "code", "valueCode": "M54.9"}]
    body = error(post(small_client, LOOKUP, base + many), 400, "invalid")
    assert "Too many parameters" in issue_text(body)
    error(get(small_client, LOOKUP, {"system": ICD10CM, "code": "M54.9", **{f"x{i}": "1" for i in range(6)}}), 400)
    check_m54_9(ok(post(small_client, LOOKUP, base + many[:3])))
    # The default limit (100).
    error(post(client, LOOKUP, base + [{"name": f"x{i}", "valueString": "x"} for i in range(101)]), 400)


def test_too_many_repeated_query_parameters_is_400(small_client):
    # A repeated name counts once per value (the first version counted distinct names only).
    error(get(small_client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "property": ["parent"] * 10}), 400)


@pytest.mark.parametrize("name", ["code", "system", "version", "date", "coding"])
def test_repeated_single_parameter_is_400(client, name):
    values = {
        "code": "M54.9",
        "system": ICD10CM,
        "version": "2026-04",
        "date": "2026-05-01",
        "coding": f"{ICD10CM}|M54.9",
    }
    params = {"system": ICD10CM, "code": "M54.9"} if name != "coding" else {}
    params[name] = [values[name], values[name]]
    body = error(get(client, LOOKUP, params), 400, "invalid")
    assert name in issue_text(body)
    key = {
        "code": "valueCode",
        "system": "valueUri",
        "version": "valueString",
        "date": "valueDateTime",
        "coding": "valueCoding",
    }[name]
    value = {"system": ICD10CM, "code": "M54.9"} if name == "coding" else values[name]
    parameters = (
        [{"name": "system", "valueUri": ICD10CM}, {"name": "code", "valueCode": "M54.9"}]
        if name not in ("coding",)
        else []
    )
    parameters += [{"name": name, key: value}] * (1 if name in ("code", "system") else 2)
    error(post(client, LOOKUP, parameters), 400, "invalid")


def test_repeated_parameter_in_validate_code_is_400(client):
    error(get(client, VALIDATE, {"url": ICD10CM, "code": ["M54.9", "M54.5"]}), 400)


@pytest.mark.parametrize("fmt", ["turtle", "html", "application/pdf"])
def test_format_other_than_json_or_xml_is_406(client, fmt):
    error(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "_format": fmt}), 406, "not-supported")
    error(client.get(f"/fhir/metadata?_format={fmt}"), 406)


@pytest.mark.parametrize("fmt", ["json", "application/fhir+json", "application/json"])
def test_format_json_is_fine(client, fmt):
    check_m54_9(ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "_format": fmt})))


def test_unknown_parameters_are_ignored(client):
    check_m54_9(ok(get(client, LOOKUP, {"system": ICD10CM, "code": "M54.9", "foo": "bar", "_elements": "x"})))
    check_m54_9(
        ok(
            post(
                client,
                LOOKUP,
                [
                    {"name": "system", "valueUri": ICD10CM},
                    {"name": "code", "valueCode": "M54.9"},
                    {"name": "foo", "valueString": "bar"},
                    {"name": "bar", "part": [{"name": "x", "valueString": "y"}]},
                ],
            )
        )
    )
    check_valid(ok(get(client, VALIDATE, {"url": ICD10CM, "code": "M54.9", "valueSet": "http://x"})))


def test_pretty(client):
    pretty = client.get(f"{LOOKUP}?system={ICD10CM}&code=M54.9&_pretty=true")
    plain = client.get(f"{LOOKUP}?system={ICD10CM}&code=M54.9")
    assert pretty.get_data(as_text=True).count("\n") > 20
    assert "\n" not in plain.get_data(as_text=True)
    assert ok(pretty) == ok(plain)
    assert "\n" in client.get("/fhir/metadata?_pretty=true").get_data(as_text=True)
    assert "\n" in client.get("/fhir/CodeSystem/nothing?_pretty=true").get_data(as_text=True)


def test_query_parameters_apply_to_post(client):
    response = post(
        client,
        LOOKUP,
        [{"name": "system", "valueUri": ICD10CM}, {"name": "code", "valueCode": "M54.9"}],
        query={"_pretty": "true"},
    )
    assert "\n" in response.get_data(as_text=True)


def test_head_and_options(client):
    assert client.head("/fhir/metadata").status_code == 200
    response = client.options(LOOKUP)
    assert response.status_code == 204 and "POST" in response.headers["Allow"]


# --------------------------------------------------------------------------------------------- fuzz
#
# Every answer must be < 500 and a valid FHIR resource.


NASTY = [
    "",
    " ",
    "\t",
    "\n",
    "M54.9\n",
    " M54.9",
    "m54.9 ",
    "M54 9",
    "M54..9",
    "M",
    ".",
    "-",
    "|",
    "||",
    "M54.9|x",
    "x" * 5_000,
    "M" + "9" * 4_999,
    "é",
    "M54.９",
    "𝕄54.9",
    "☃",
    "\u200b",
    "\x00",
    "%00",
    "M54.9\x00",
    "' OR 1=1 --",
    "'; DROP TABLE concept; --",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "%s%s%s%n",
    "null",
    "true",
    '{"a": 1}',
    "*",
    "%",
    "_",
    "M54%",
    "M5_.9",
]


def _fuzz_cases():
    """One case per nasty value, field, operation and binding (GET query or POSTed Parameters)."""
    types = {
        "system": "valueUri",
        "url": "valueUri",
        "code": "valueCode",
        "version": "valueString",
        "display": "valueString",
    }
    cases = []
    for value in NASTY:
        for field in ("code", "system", "version", "display"):
            targets = []
            if field != "display":
                targets.append(("lookup", LOOKUP, {"system": ICD10CM, "code": "M54.9", field: value}))
            validate = {"url": ICD10CM, "code": "M54.9"}
            validate["url" if field == "system" else field] = value
            targets.append(("validate", VALIDATE, validate))
            for operation, path, params in targets:
                for method in ("GET", "POST"):
                    body = params if method == "GET" else [{"name": k, types[k]: v} for k, v in params.items()]
                    cases.append(
                        pytest.param(method, path, body, id=f"{method}-{operation}-{field}-{repr(value)[:24]}")
                    )
    return cases


@pytest.mark.parametrize("method, path, params", _fuzz_cases())
def test_fuzz_values(client, method, path, params):
    response = get(client, path, params) if method == "GET" else post(client, path, params)
    body = assert_fhir_response(response)
    if path == VALIDATE and response.status_code == 200:
        assert isinstance(param(body, "result"), bool)


WRONG_TYPES = [
    [{"name": "code", "valueCode": 123}],
    [{"name": "code", "valueCode": None}],
    [{"name": "code", "valueCode": ["M54.9"]}],
    [{"name": "code", "valueCode": {"code": "M54.9"}}],
    [{"name": "code", "valueBoolean": True}],
    [{"name": "code"}],
    [{"name": 5, "valueCode": "M54.9"}],
    [{"name": None, "valueCode": "M54.9"}],
    [{"name": "code", "part": [{"name": "code", "valueCode": "M54.9"}]}],
    [{"name": "code", "resource": {"resourceType": "Patient"}}],
    [{"name": "system", "resource": {"resourceType": "Parameters", "parameter": [{"name": "code"}]}}],
    [{"name": "coding", "valueCoding": "http://hl7.org/fhir/sid/icd-10-cm|M54.9"}],
    [{"name": "coding", "valueCoding": {"system": 1, "code": "M54.9"}}],
    [{"name": "coding", "valueCoding": {"system": ICD10CM, "code": ["M54.9"]}}],
    [{"name": "coding", "valueCoding": []}],
    [{"name": "coding", "valueCoding": {}}],
    [{"name": "coding", "valueCoding": None}],
    [{"name": "coding", "part": [{"name": "system", "valueUri": ICD10CM}]}],
    [{"name": "codeableConcept", "valueCodeableConcept": {"coding": "M54.9"}}],
    [{"name": "codeableConcept", "valueCodeableConcept": {"coding": [1, 2]}}],
    [{"name": "codeableConcept", "valueCodeableConcept": {"coding": [None]}}],
    [{"name": "codeableConcept", "valueCodeableConcept": []}],
    [{"name": "codeableConcept", "valueCodeableConcept": {"coding": [{"system": ICD10CM, "code": 5}]}}],
    [{"name": "abstract", "valueBoolean": "yes"}],
    [{"name": "property", "valueCode": 7}],
    [{"name": "property", "valueCode": None}],
    [{"name": "date", "valueDateTime": 20260101}],
    [{"name": "code", "valueCode": "M54.9", "extension": [{"url": "x"}]}],
    [{"name": "code", "valueCode": "M54.9"}, {"name": "code"}],
    [{"name": "code", "valueCode": "M54.9", "resource": {"resourceType": "Basic"}, "part": []}],
    [{"name": "x" * 10_000, "valueString": "y"}],
    [[{"name": "code", "valueCode": "M54.9"}]],
]


@pytest.mark.parametrize("path, system", [(LOOKUP, "system"), (VALIDATE, "url")])
@pytest.mark.parametrize("parameters", WRONG_TYPES, ids=lambda p: json.dumps(p)[:60])
def test_fuzz_parameter_structures(client, parameters, path, system):
    response = post(client, path, [{"name": system, "valueUri": ICD10CM}] + parameters)
    assert_fhir_response(response)
    response = post(client, f"{INSTANCE}/{path.rsplit('/', 1)[1]}", parameters)
    assert_fhir_response(response)


@pytest.mark.parametrize(
    "raw, refused",
    [
        ("[" * 5_000 + "]" * 5_000, True),
        ('{"resourceType": "Parameters", "parameter": [' + ",".join(['{"name": "x"}'] * 100) + "]}", False),
        ('{"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": "\\ud800"}]}', False),
        ('{"resourceType": "Parameters", "resourceType": "Patient"}', True),
        ('{"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": "M54.9"}]} trailing', True),
        ("\ufeff{}", True),
        ("", True),
        ("null", True),
        ('{"a": ' * 2_000 + "1" + "}" * 2_000, True),
    ],
)
def test_fuzz_raw_bodies(client, raw, refused):
    for path in (LOOKUP, f"{INSTANCE}/$lookup", f"{INSTANCE}/$validate-code"):
        response = client.post(path, data=raw.encode("utf-8", "surrogatepass"), content_type=FHIR_JSON)
        assert_fhir_response(response)
        if refused:
            assert response.status_code == 400, response.get_data(as_text=True)[:500]


RAW_QUERIES = [
    "code=M54.9&system=" + "%ff" * 10,
    "code=%E2%98%83&system=" + ICD10CM,
    "%%%",
    "=",
    "&&&",
    "code",
    "code=M54.9&system=" + ICD10CM + "&property=" + "&property=".join(["x"] * 50),
    "coding=|",
    "coding=" + ICD10CM + "|",
    "coding=|M54.9",
    "code[]=M54.9",
    "_pretty=yes&_format=",
    "url=" + ICD10CM + "&code=M54.9&display=%00",
    "url=" + ICD10CM + "&code=M54.9&abstract=",
]


def _raw_query_cases():
    cases = []
    paths = {
        "lookup": LOOKUP,
        "validate": VALIDATE,
        "instance-validate": f"{INSTANCE}/$validate-code",
        "search": "/fhir/CodeSystem",
        "metadata": "/fhir/metadata",
    }
    for query in RAW_QUERIES:
        for name, path in paths.items():
            cases.append(pytest.param(path, query, id=f"{name}-{query[:30]}"))
    return cases


@pytest.mark.parametrize("path, query", _raw_query_cases())
def test_fuzz_raw_queries(client, path, query):
    assert_fhir_response(client.get(f"{path}?{query}"))


def test_the_fast_path_computes_a_failing_request_once_and_answers_as_flask_would(app, monkeypatch):
    """An unknown code asked by GET fails in the fast path: it is answered there, with the same
    OperationOutcome a POST of the same request gets through Flask, and the code is looked up once."""
    engine = app.extensions["terminology"]
    calls = []
    looked_up = engine.lookup
    monkeypatch.setattr(engine, "lookup", lambda *a, **k: calls.append(a) or looked_up(*a, **k))
    client = app.test_client()
    fast = client.get("/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=M54.99")
    assert fast.status_code == 404 and len(calls) == 1
    slow = client.post(
        "/fhir/CodeSystem/$lookup",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "system", "valueUri": "http://hl7.org/fhir/sid/icd-10-cm"},
                {"name": "code", "valueCode": "M54.99"},
            ],
        },
    )
    assert slow.status_code == 404 and len(calls) == 2
    assert fast.get_json() == slow.get_json() and fast.headers["Content-Type"] == slow.headers["Content-Type"]


def _shape(value):
    """The keys of a JSON value, all the way down, without its texts."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items() if key != "extension"}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_icd10cm_and_an_in_memory_code_system_give_one_outcome_shape(client, fmt):
    """The same question (a code that is not in the system) to the ICD-10-CM store and to a code system sent
    with the request: the errors, and the issues of a failed validation, have one shape."""
    from service.fhir import xml as fhir_xml

    colors = {
        "resourceType": "CodeSystem",
        "url": "http://example.org/colors",
        "status": "active",
        "content": "complete",
        "concept": [{"code": "red", "display": "Red"}],
    }

    def ask(operation: str, system: str, code: str, status: int, extra=()):
        parameters = [
            {"name": "tx-resource", "resource": colors},
            {"name": "code", "valueCode": code},
            {"name": "system" if operation == "$lookup" else "url", "valueUri": system},
            *extra,
        ]
        response = client.post(
            f"/fhir/CodeSystem/{operation}?_format={fmt}", json={"resourceType": "Parameters", "parameter": parameters}
        )
        assert response.status_code == status
        return response.get_json() if fmt == "json" else fhir_xml.loads(response.get_data())

    icd_error = ask("$lookup", "http://hl7.org/fhir/sid/icd-10-cm", "M54.99", 404)
    memory_error = ask("$lookup", "http://example.org/colors", "blue", 404)
    assert icd_error["resourceType"] == memory_error["resourceType"] == "OperationOutcome"
    assert _shape(icd_error["issue"][0]) == _shape(memory_error["issue"][0])

    def issues(answer):
        [outcome] = [p["resource"] for p in answer["parameter"] if p["name"] == "issues"]
        return outcome["issue"]

    icd_issue = issues(ask("$validate-code", "http://hl7.org/fhir/sid/icd-10-cm", "M54.99", 200))[0]
    memory_issue = issues(ask("$validate-code", "http://example.org/colors", "blue", 200))[0]
    assert _shape(icd_issue) == _shape(memory_issue)
    assert icd_issue["details"]["coding"][0]["system"] == memory_issue["details"]["coding"][0]["system"]
