"""Resource status in expansions (issue 21): an expansion names each code system or value set it used whose
status calls for care, as a `warning-*` expansion parameter whose value is the resource's versioned canonical.

The rule, as tx.fhir.org applies it (one warning per resource, the strongest first): the
structuredefinition-standards-status extension `deprecated` or `withdrawn`; status `retired`; `experimental`
true, unless the value set expanded is experimental itself; status (or standards status) `draft`, unless the
value set expanded is draft itself. An active, non-experimental resource says nothing."""

from __future__ import annotations

import pytest
from helpers import assert_fhir_response

STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
SYSTEM = "http://example.org/status-test"


def _code_system(**fields) -> dict:
    return {
        "resourceType": "CodeSystem",
        "url": SYSTEM,
        "version": "1.0",
        "status": "active",
        "content": "complete",
        "concept": [{"code": "a", "display": "A"}, {"code": "b", "display": "B"}],
        **fields,
    }


def _value_set(**fields) -> dict:
    return {
        "resourceType": "ValueSet",
        "url": "http://example.org/vs/status-test",
        "version": "2.0",
        "status": "active",
        "compose": {"include": [{"system": SYSTEM}]},
        **fields,
    }


@pytest.fixture(params=["/fhir", "/fhir/r5"], ids=["R4", "R5"])
def endpoint(request):
    return request.param


def _warnings(client, code_system: dict, value_set: dict, endpoint: str) -> list[tuple[str, str]]:
    response = client.post(
        f"{endpoint}/ValueSet/$expand",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "tx-resource", "resource": code_system},
                {"name": "valueSet", "resource": value_set},
            ],
        },
    )
    body = assert_fhir_response(response, 200, "ValueSet")
    assert {c["code"] for c in body["expansion"]["contains"]} == {"a", "b"}
    return [
        (p["name"], p["valueUri"]) for p in body["expansion"].get("parameter", ()) if p["name"].startswith("warning-")
    ]


def _standards(value: str) -> list[dict]:
    return [{"url": STANDARDS_STATUS, "valueCode": value}]


CS = f"{SYSTEM}|1.0"


@pytest.mark.parametrize(
    ("code_system", "expected"),
    [
        ({}, []),
        ({"status": "draft"}, [("warning-draft", CS)]),
        ({"status": "retired"}, [("warning-retired", CS)]),
        ({"experimental": True}, [("warning-experimental", CS)]),
        ({"extension": _standards("deprecated")}, [("warning-deprecated", CS)]),
        ({"extension": _standards("withdrawn")}, [("warning-withdrawn", CS)]),
        ({"extension": _standards("draft")}, [("warning-draft", CS)]),
        # one warning per resource, the strongest
        (
            {"extension": _standards("withdrawn"), "status": "retired", "experimental": True},
            [("warning-withdrawn", CS)],
        ),
        ({"status": "retired", "experimental": True}, [("warning-retired", CS)]),
        ({"status": "draft", "experimental": True}, [("warning-experimental", CS)]),
    ],
)
def test_a_code_system_used_warns_by_its_status(client, endpoint, code_system, expected):
    assert _warnings(client, _code_system(**code_system), _value_set(), endpoint) == expected


def test_draft_and_experimental_content_in_a_value_set_that_is_so_itself_says_nothing(client, endpoint):
    assert _warnings(client, _code_system(status="draft"), _value_set(status="draft"), endpoint) == []
    assert _warnings(client, _code_system(experimental=True), _value_set(experimental=True), endpoint) == []
    # but what is retired or withdrawn is said whatever the value set
    assert _warnings(client, _code_system(status="retired"), _value_set(status="draft"), endpoint) == [
        ("warning-retired", CS)
    ]


def test_the_value_set_expanded_warns_of_its_own_retirement_or_withdrawal(client, endpoint):
    vs = "http://example.org/vs/status-test|2.0"
    assert _warnings(client, _code_system(), _value_set(status="retired"), endpoint) == [("warning-retired", vs)]
    assert _warnings(client, _code_system(), _value_set(extension=_standards("deprecated")), endpoint) == [
        ("warning-deprecated", vs)
    ]
    assert _warnings(client, _code_system(), _value_set(status="draft"), endpoint) == []  # it is the source


# -- $validate-code: the same rule, as information issues (tx.fhir.org's status-check issues) --------------
MSG = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"


def _validate(client, endpoint: str, kind: str, parameters: list[dict], code: str = "a") -> tuple[bool, list[dict]]:
    """The result and the issues of validating ``SYSTEM#code`` with these resources."""
    coding = {"name": "coding", "valueCoding": {"system": SYSTEM, "code": code}}
    response = client.post(
        f"{endpoint}/{kind}/$validate-code", json={"resourceType": "Parameters", "parameter": [*parameters, coding]}
    )
    body = assert_fhir_response(response, 200, "Parameters")
    result = next(p["valueBoolean"] for p in body["parameter"] if p["name"] == "result")
    return result, next((p["resource"]["issue"] for p in body["parameter"] if p["name"] == "issues"), [])


def _status_issues(client, endpoint: str, code_system: dict, value_set: dict | None, code: str = "a"):
    """(message id, text) of the status-check issues of a validation, in the answer's order, and its result."""
    parameters = [{"name": "tx-resource", "resource": code_system}]
    if value_set is not None:
        parameters.append({"name": "valueSet", "resource": value_set})
    kind = "ValueSet" if value_set is not None else "CodeSystem"
    result, issues = _validate(client, endpoint, kind, parameters, code)
    found = []
    for issue in issues:
        if issue["details"].get("coding", [{}])[0].get("code") != "status-check":
            continue
        assert (issue["severity"], issue["code"]) == ("information", "business-rule")
        assert "expression" not in issue  # on the resource, not on an element of the coding
        ids = [e["valueString"] for e in issue.get("extension", ()) if e["url"] == MSG]
        found.append((ids[0] if ids else None, issue["details"]["text"]))
    return result, found


@pytest.mark.parametrize(
    ("code_system", "expected"),
    [
        ({}, []),
        ({"status": "draft"}, [("MSG_DRAFT", f"Reference to draft CodeSystem {CS}")]),
        ({"status": "retired"}, [("MSG_RETIRED", f"Reference to retired CodeSystem {CS}")]),
        ({"experimental": True}, [("MSG_EXPERIMENTAL", f"Reference to experimental CodeSystem {CS}")]),
        ({"extension": _standards("deprecated")}, [("MSG_DEPRECATED", f"Reference to deprecated CodeSystem {CS}")]),
        ({"extension": _standards("withdrawn")}, [("MSG_WITHDRAWN", f"Reference to withdrawn CodeSystem {CS}")]),
        ({"status": "retired", "experimental": True}, [("MSG_RETIRED", f"Reference to retired CodeSystem {CS}")]),
    ],
)
def test_validating_in_a_code_system_whose_status_calls_for_care_says_so(client, endpoint, code_system, expected):
    # in a value set that includes it, and against the code system itself; the code stays valid
    assert _status_issues(client, endpoint, _code_system(**code_system), _value_set()) == (True, expected)
    assert _status_issues(client, endpoint, _code_system(**code_system), None) == (True, expected)


def test_the_value_set_validated_against_says_only_what_its_own_status_cannot_excuse(client, endpoint):
    vs = "http://example.org/vs/status-test|2.0"
    retired = _status_issues(client, endpoint, _code_system(), _value_set(status="retired"))
    assert retired == (True, [("MSG_RETIRED", f"Reference to retired ValueSet {vs}")])
    # a draft or experimental value set is the source itself: nothing to say of it, nor of draft content in it
    assert _status_issues(client, endpoint, _code_system(status="draft"), _value_set(status="draft")) == (True, [])
    assert _status_issues(client, endpoint, _code_system(experimental=True), _value_set(experimental=True)) == (
        True,
        [],
    )


def test_status_issues_come_first_and_an_invalid_code_keeps_them(client, endpoint):
    result, issues = _status_issues(
        client, endpoint, _code_system(status="draft"), _value_set(extension=_standards("deprecated")), code="zz"
    )
    assert result is False
    assert [i[0] for i in issues] == ["MSG_DEPRECATED", "MSG_DRAFT"]


def test_a_value_set_imported_says_its_status_as_it_is_checked(client, endpoint):
    """The imported value set's status, then that of the code system the code is found in through it."""
    imported = _value_set(url="http://example.org/vs/imported", status="retired")
    importer = {
        "resourceType": "ValueSet",
        "url": "http://example.org/vs/importer",
        "status": "active",
        "compose": {"include": [{"valueSet": ["http://example.org/vs/imported|2.0"]}]},
    }
    parameters = [
        {"name": "tx-resource", "resource": _code_system(extension=_standards("deprecated"))},
        {"name": "tx-resource", "resource": imported},
        {"name": "valueSet", "resource": importer},
    ]
    result, issues = _validate(client, endpoint, "ValueSet", parameters)
    assert [i["details"]["text"] for i in issues] == [
        "Reference to retired ValueSet http://example.org/vs/imported|2.0",
        f"Reference to deprecated CodeSystem {CS}",
    ]
    assert result is True


@pytest.mark.parametrize(
    "mark",
    [
        {"url": "http://hl7.org/fhir/StructureDefinition/valueset-deprecated", "valueBoolean": True},
        {"url": "http://hl7.org/fhir/StructureDefinition/valueset-deprecated", "valueCode": "true"},  # as HL7's tests
        {"url": STANDARDS_STATUS, "valueCode": "deprecated"},
    ],
)
def test_a_code_the_value_set_marks_deprecated_is_valid_with_a_warning_after_the_status(client, endpoint, mark):
    value_set = _value_set(compose={"include": [{"system": SYSTEM, "concept": [{"code": "a", "extension": [mark]}]}]})
    parameters = [
        {"name": "tx-resource", "resource": _code_system(status="draft")},
        {"name": "valueSet", "resource": value_set},
    ]
    result, issues = _validate(client, endpoint, "ValueSet", parameters)
    ids = [next(e["valueString"] for e in i["extension"] if e["url"] == MSG) for i in issues]
    assert ids == ["MSG_DRAFT", "CONCEPT_DEPRECATED_IN_VALUESET"]
    assert result is True
