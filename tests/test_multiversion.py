"""One code system in several versions at once (issue 21), at the R4 and R5 endpoints.

The rules, from the $expand and $validate-code definitions and tx.fhir.org's engine:
- a value set whose includes name one system with different versions (two pinned, or pinned and not) lists a
  code once per version, each entry with its version, and counts them all; each version used is a
  ``used-codesystem``; a value set naming one version lists each code once, without versions;
- ``system-version`` gives the version of includes that name none, and leaves pinned ones alone;
- ``force-system-version`` overrides every include's version: the versions collapse into one;
- ``check-system-version`` refuses an include pinned to another version, and gives its version to the others;
- validating a coding without a version in such a value set, the first include (in the compose's order) whose
  version knows the code answers, and says its version; a coding with a version is checked in that version
  only."""

from __future__ import annotations

import pytest
from helpers import assert_fhir_response, param

SYSTEM = "http://example.org/multi-version"


def _code_system(version: str, codes: list[str]) -> dict:
    return {
        "resourceType": "CodeSystem",
        "url": SYSTEM,
        "version": version,
        "status": "active",
        "content": "complete",
        "concept": [{"code": c, "display": f"{c.upper()} ({version})"} for c in codes],
    }


RESOURCES = [
    {"name": "tx-resource", "resource": _code_system("1.0", ["a", "b"])},
    {"name": "tx-resource", "resource": _code_system("2.0", ["a", "b", "c"])},
]
V1, V2, ANY = {"system": SYSTEM, "version": "1.0"}, {"system": SYSTEM, "version": "2.0"}, {"system": SYSTEM}


def _value_set(*includes: dict) -> dict:
    return {
        "resourceType": "ValueSet",
        "url": "http://example.org/vs/multi",
        "status": "active",
        "compose": {"include": list(includes)},
    }


def _rule(name: str, version: str) -> dict:
    return {"name": name, "valueCanonical": f"{SYSTEM}|{version}"}


@pytest.fixture(params=["/fhir", "/fhir/r5"], ids=["R4", "R5"])
def endpoint(request):
    return request.param


def _expand(client, endpoint, value_set: dict, *rules: dict) -> dict:
    body = {
        "resourceType": "Parameters",
        "parameter": [*RESOURCES, {"name": "valueSet", "resource": value_set}, *rules],
    }
    return client.post(f"{endpoint}/ValueSet/$expand", json=body)


def _entries(expansion: dict) -> list[tuple[str | None, str, str]]:
    return [(c.get("version"), c["code"], c["display"]) for c in expansion["contains"]]


def _used(expansion: dict) -> list[str]:
    return [p["valueUri"] for p in expansion["parameter"] if p["name"] == "used-codesystem"]


@pytest.mark.parametrize("includes", [(V1, V2), (V1, ANY)], ids=["pinned twice", "pinned and not"])
def test_two_versions_list_each_code_once_per_version(client, endpoint, includes):
    expansion = assert_fhir_response(_expand(client, endpoint, _value_set(*includes)), 200, "ValueSet")["expansion"]
    assert _entries(expansion) == [
        ("1.0", "a", "A (1.0)"),
        ("1.0", "b", "B (1.0)"),
        ("2.0", "a", "A (2.0)"),
        ("2.0", "b", "B (2.0)"),
        ("2.0", "c", "C (2.0)"),
    ]
    assert expansion["total"] == 5
    assert _used(expansion) == [f"{SYSTEM}|1.0", f"{SYSTEM}|2.0"]


def test_two_includes_of_one_version_list_each_code_once(client, endpoint):
    enumerated = dict(V1, concept=[{"code": "a"}])
    expansion = assert_fhir_response(_expand(client, endpoint, _value_set(V1, enumerated)), 200, "ValueSet")[
        "expansion"
    ]
    assert _entries(expansion) == [(None, "a", "A (1.0)"), (None, "b", "B (1.0)")]
    assert _used(expansion) == [f"{SYSTEM}|1.0"]


def test_one_unversioned_include_takes_the_newest_and_system_version_overrides_it(client, endpoint):
    newest = assert_fhir_response(_expand(client, endpoint, _value_set(ANY)), 200, "ValueSet")["expansion"]
    assert [e[1] for e in _entries(newest)] == ["a", "b", "c"] and _used(newest) == [f"{SYSTEM}|2.0"]
    ruled = _expand(client, endpoint, _value_set(ANY), _rule("system-version", "1.0"))
    expansion = assert_fhir_response(ruled, 200, "ValueSet")["expansion"]
    assert _entries(expansion) == [(None, "a", "A (1.0)"), (None, "b", "B (1.0)")]
    assert param(expansion, "system-version") == f"{SYSTEM}|1.0"  # the rule applied is echoed


def test_system_version_leaves_pinned_includes_alone(client, endpoint):
    ruled = _expand(client, endpoint, _value_set(V1, V2), _rule("system-version", "1.0"))
    expansion = assert_fhir_response(ruled, 200, "ValueSet")["expansion"]
    assert expansion["total"] == 5 and _used(expansion) == [f"{SYSTEM}|1.0", f"{SYSTEM}|2.0"]
    # pinned 1.0, and unpinned given 1.0 by the rule: one version, each code once
    collapsed = _expand(client, endpoint, _value_set(V1, ANY), _rule("system-version", "1.0"))
    expansion = assert_fhir_response(collapsed, 200, "ValueSet")["expansion"]
    assert [(v, c) for v, c, _ in _entries(expansion)] == [("1.0", "a"), ("1.0", "b")]
    assert _used(expansion) == [f"{SYSTEM}|1.0"]


def test_force_system_version_overrides_every_include(client, endpoint):
    forced = _expand(client, endpoint, _value_set(V1, V2), _rule("force-system-version", "2.0"))
    expansion = assert_fhir_response(forced, 200, "ValueSet")["expansion"]
    assert [(v, c) for v, c, _ in _entries(expansion)] == [("2.0", "a"), ("2.0", "b"), ("2.0", "c")]
    assert expansion["total"] == 3
    assert _used(expansion) == [f"{SYSTEM}|2.0"]
    assert param(expansion, "force-system-version") == f"{SYSTEM}|2.0"


def test_check_system_version_refuses_another_pinned_version_and_sets_the_unpinned(client, endpoint):
    refused = _expand(client, endpoint, _value_set(V1, V2), _rule("check-system-version", "2.0"))
    outcome = assert_fhir_response(refused, 422, "OperationOutcome")
    assert "'1.0'" in outcome["issue"][0]["details"]["text"] and "'2.0'" in outcome["issue"][0]["details"]["text"]
    checked = _expand(client, endpoint, _value_set(ANY), _rule("check-system-version", "1.0"))
    expansion = assert_fhir_response(checked, 200, "ValueSet")["expansion"]
    assert [e[1] for e in _entries(expansion)] == ["a", "b"] and _used(expansion) == [f"{SYSTEM}|1.0"]


def _validate(client, endpoint, value_set: dict, coding: dict, *rules: dict) -> dict:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            *RESOURCES,
            {"name": "valueSet", "resource": value_set},
            {"name": "coding", "valueCoding": coding},
            *rules,
        ],
    }
    answer = assert_fhir_response(client.post(f"{endpoint}/ValueSet/$validate-code", json=body), 200, "Parameters")
    issues = param(answer, "issues")
    return {
        "result": param(answer, "result"),
        "version": param(answer, "version"),
        "display": param(answer, "display"),
        "issues": [i["details"]["text"] for i in issues["issue"]] if issues else [],
    }


def test_a_code_without_version_is_answered_by_the_first_include_that_knows_it(client, endpoint):
    both = _value_set(V1, V2)
    assert _validate(client, endpoint, both, {"system": SYSTEM, "code": "a"}) == {
        "result": True,
        "version": "1.0",
        "display": "A (1.0)",
        "issues": [],
    }
    # only the second include's version knows c: it answers, and no error is left from the first
    assert _validate(client, endpoint, both, {"system": SYSTEM, "code": "c"}) == {
        "result": True,
        "version": "2.0",
        "display": "C (2.0)",
        "issues": [],
    }
    # the other order: the first include is now 2.0
    assert _validate(client, endpoint, _value_set(V2, V1), {"system": SYSTEM, "code": "a"})["version"] == "2.0"


def test_a_code_with_a_version_is_checked_in_that_version(client, endpoint):
    answer = _validate(client, endpoint, _value_set(V1, V2), {"system": SYSTEM, "code": "c", "version": "1.0"})
    assert answer["result"] is False and answer["version"] == "1.0"
    assert any("Unknown code 'c'" in text and "'1.0'" in text for text in answer["issues"])
    # a version the value set does not include: the mismatch is reported
    mismatch = _validate(client, endpoint, _value_set(V1), {"system": SYSTEM, "code": "a", "version": "2.0"})
    assert mismatch["result"] is False
    assert any("version '1.0'" in text and "('2.0')" in text for text in mismatch["issues"])


def test_version_rules_in_validation(client, endpoint):
    forced = _validate(
        client, endpoint, _value_set(V1), {"system": SYSTEM, "code": "c"}, _rule("force-system-version", "2.0")
    )
    assert (forced["result"], forced["version"]) == (True, "2.0")
    defaulted = _validate(
        client, endpoint, _value_set(ANY), {"system": SYSTEM, "code": "c"}, _rule("system-version", "1.0")
    )
    assert (defaulted["result"], defaulted["version"]) == (False, "1.0")
