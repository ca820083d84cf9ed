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


def _warnings(client, code_system: dict, value_set: dict) -> list[tuple[str, str]]:
    response = client.post(
        "/fhir/ValueSet/$expand",
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
def test_a_code_system_used_warns_by_its_status(client, code_system, expected):
    assert _warnings(client, _code_system(**code_system), _value_set()) == expected


def test_draft_and_experimental_content_in_a_value_set_that_is_so_itself_says_nothing(client):
    assert _warnings(client, _code_system(status="draft"), _value_set(status="draft")) == []
    assert _warnings(client, _code_system(experimental=True), _value_set(experimental=True)) == []
    # but what is retired or withdrawn is said whatever the value set
    assert _warnings(client, _code_system(status="retired"), _value_set(status="draft")) == [("warning-retired", CS)]


def test_the_value_set_expanded_warns_of_its_own_retirement_or_withdrawal(client):
    vs = "http://example.org/vs/status-test|2.0"
    assert _warnings(client, _code_system(), _value_set(status="retired")) == [("warning-retired", vs)]
    assert _warnings(client, _code_system(), _value_set(extension=_standards("deprecated"))) == [
        ("warning-deprecated", vs)
    ]
    assert _warnings(client, _code_system(), _value_set(status="draft")) == []  # it is the source
