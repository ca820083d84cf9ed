"""The general engine: any CodeSystem, ValueSet and ConceptMap, from files or sent with a request.

Each answer is checked against the FHIR R4 models (``assert_fhir_response``); the HL7 ecosystem
suites (``test_tx_ecosystem.py``) cover the finer points of the expected answers."""

from __future__ import annotations

import json
import time

import orjson
import pytest
from helpers import assert_fhir_response, param, params_named

from service.errors import NotFound
from service.terminology.cache import ResourceCache
from service.terminology.files import read_bundle, read_resources
from service.terminology.languages import Languages, choose
from service.terminology.versions import matches, newest

COLORS = "http://example.org/fhir/CodeSystem/colors"
COLORS_VS = "http://example.org/fhir/ValueSet/warm"
CODE_SYSTEM = {
    "resourceType": "CodeSystem",
    "url": COLORS,
    "version": "2.0.0",
    "name": "Colors",
    "status": "active",
    "content": "complete",
    "caseSensitive": True,
    "language": "en",
    "property": [{"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status", "type": "code"}],
    "concept": [
        {
            "code": "warm",
            "display": "Warm colors",
            "designation": [{"language": "de", "value": "Warme Farben"}],
            "concept": [{"code": "red", "display": "Red"}, {"code": "orange", "display": "Orange"}],
        },
        {"code": "cold", "display": "Cold colors", "concept": [{"code": "blue", "display": "Blue"}]},
        {"code": "mauve", "display": "Mauve", "property": [{"code": "status", "valueCode": "retired"}]},
    ],
}
VALUE_SET = {
    "resourceType": "ValueSet",
    "url": COLORS_VS,
    "version": "1.0.0",
    "status": "active",
    "compose": {"include": [{"system": COLORS, "filter": [{"property": "concept", "op": "is-a", "value": "warm"}]}]},
}
CONCEPT_MAP = {
    "resourceType": "ConceptMap",
    "url": "http://example.org/fhir/ConceptMap/colors-to-rgb",
    "status": "active",
    "group": [
        {
            "source": COLORS,
            "target": "http://example.org/rgb",
            "element": [{"code": "red", "target": [{"code": "ff0000", "equivalence": "equivalent"}]}],
        }
    ],
}
RESOURCES = [{"name": "tx-resource", "resource": r} for r in (CODE_SYSTEM, VALUE_SET, CONCEPT_MAP)]


def post(client, path: str, parameters: list[dict], headers: dict | None = None):
    return client.post(
        f"/fhir/{path}", json={"resourceType": "Parameters", "parameter": RESOURCES + parameters}, headers=headers
    )


def test_lookup_in_a_code_system_sent_with_the_request(client):
    body = assert_fhir_response(
        post(
            client, "CodeSystem/$lookup", [{"name": "system", "valueUri": COLORS}, {"name": "code", "valueCode": "red"}]
        ),
        200,
        "Parameters",
    )
    assert param(body, "display") == "Red"
    assert param(body, "version") == "2.0.0"
    parents = [p for p in params_named(body, "property") if p[0]["valueCode"] == "parent"]
    assert parents[0][1]["valueCode"] == "warm"


def test_the_resources_are_visible_to_that_request_only(client):
    response = client.get("/fhir/CodeSystem/$lookup", query_string={"system": COLORS, "code": "red"})
    body = assert_fhir_response(response, 404, "OperationOutcome")
    assert COLORS in body["issue"][0]["details"]["text"]


def test_validate_code_in_a_value_set(client):
    good = assert_fhir_response(
        post(
            client,
            "ValueSet/$validate-code",
            [
                {"name": "url", "valueUri": COLORS_VS},
                {"name": "coding", "valueCoding": {"system": COLORS, "code": "red"}},
            ],
        ),
        200,
        "Parameters",
    )
    assert param(good, "result") is True
    bad = assert_fhir_response(
        post(
            client,
            "ValueSet/$validate-code",
            [
                {"name": "url", "valueUri": COLORS_VS},
                {"name": "coding", "valueCoding": {"system": COLORS, "code": "blue"}},
            ],
        ),
        200,
        "Parameters",
    )
    assert param(bad, "result") is False
    [issue] = param(bad, "issues")["issue"]
    assert issue["details"]["coding"][0]["code"] == "not-in-vs"
    assert issue["expression"] == ["Coding.code"]


def test_a_codeable_concept_with_several_valid_codings_is_described_by_the_last(client):
    """As tx.fhir.org answers: each valid coding replaces the one described before it; invalid ones do not."""
    codings = [
        {"system": COLORS, "code": "red"},
        {"system": COLORS, "code": "blue"},
        {"system": COLORS, "code": "orange"},
    ]
    body = assert_fhir_response(
        post(
            client,
            "ValueSet/$validate-code",
            [
                {"name": "url", "valueUri": COLORS_VS},
                {"name": "codeableConcept", "valueCodeableConcept": {"coding": codings}},
            ],
        ),
        200,
        "Parameters",
    )
    assert (param(body, "result"), param(body, "code"), param(body, "display")) == (True, "orange", "Orange")


@pytest.mark.parametrize("language", ["-", "de_DE", "en;q=x", "12", "de, *x"])
def test_a_malformed_display_language_is_a_400(client, language):
    response = post(
        client,
        "CodeSystem/$validate-code",
        [
            {"name": "url", "valueUri": COLORS},
            {"name": "code", "valueCode": "red"},
            {"name": "displayLanguage", "valueCode": language},
        ],
    )
    [issue] = assert_fhir_response(response, 400)["issue"]
    assert (issue["code"], issue["details"]["coding"][0]["code"]) == ("processing", "invalid-display")
    assert issue["details"]["text"] == f"Invalid displayLanguage: '{language}'"


def test_a_display_in_no_stated_language_serves_any_language_asked(client):
    """A code system that states no language: its displays are right whatever displayLanguage asks, and a
    wrong display is told the right one (not that there is none in the language)."""
    unstated = {k: v for k, v in CODE_SYSTEM.items() if k != "language"}
    unstated["url"] = "http://example.org/fhir/CodeSystem/colors-unstated"

    def check(display: str) -> dict:
        response = client.post(
            "/fhir/CodeSystem/$validate-code",
            json={
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "tx-resource", "resource": unstated},
                    {"name": "url", "valueUri": unstated["url"]},
                    {"name": "code", "valueCode": "red"},
                    {"name": "display", "valueString": display},
                    {"name": "displayLanguage", "valueCode": "de"},
                ],
            },
        )
        return assert_fhir_response(response, 200, "Parameters")

    assert param(check("Red"), "result") is True and param(check("Red"), "issues") is None
    wrong = check("Rot")
    assert param(wrong, "result") is False
    assert "Valid display is 'Red' (for the language(s) 'de')" in param(wrong, "message")


def test_wrong_display_is_an_error_unless_lenient(client):
    coding = {"name": "coding", "valueCoding": {"system": COLORS, "code": "red", "display": "Rouge"}}
    strict = assert_fhir_response(post(client, "CodeSystem/$validate-code", [coding]), 200, "Parameters")
    assert param(strict, "result") is False
    assert "Rouge" in param(strict, "message")
    lenient = assert_fhir_response(
        post(
            client, "CodeSystem/$validate-code", [coding, {"name": "lenient-display-validation", "valueBoolean": True}]
        ),
        200,
        "Parameters",
    )
    assert param(lenient, "result") is True


def test_expansion_is_hierarchical_with_properties_as_r4_extensions(client):
    body = assert_fhir_response(
        post(client, "ValueSet/$expand", [{"name": "url", "valueUri": COLORS_VS}]), 200, "ValueSet"
    )
    [warm] = body["expansion"]["contains"]
    assert warm["code"] == "warm"
    assert [c["code"] for c in warm["contains"]] == ["red", "orange"]
    assert body["expansion"]["total"] == 3
    assert {"name": "used-codesystem", "valueUri": f"{COLORS}|2.0.0"} in body["expansion"]["parameter"]


def test_retired_concepts_carry_status_and_inactive(client):
    body = assert_fhir_response(
        post(
            client,
            "ValueSet/$expand",
            [
                {
                    "name": "valueSet",
                    "resource": {
                        "resourceType": "ValueSet",
                        "status": "active",
                        "compose": {"include": [{"system": COLORS}]},
                    },
                },
                {"name": "excludeNested", "valueBoolean": True},
            ],
        ),
        200,
        "ValueSet",
    )
    mauve = next(c for c in body["expansion"]["contains"] if c["code"] == "mauve")
    assert mauve["inactive"] is True
    [status] = mauve["extension"]
    assert {"url": "code", "valueCode": "status"} in status["extension"]


def test_display_language_from_accept_language(client):
    body = assert_fhir_response(
        post(
            client,
            "ValueSet/$expand",
            [{"name": "url", "valueUri": COLORS_VS}],
            headers={"Accept-Language": "de, en;q=0.5"},
        ),
        200,
        "ValueSet",
    )
    assert body["expansion"]["contains"][0]["display"] == "Warme Farben"


def test_translate(client):
    body = assert_fhir_response(
        post(
            client,
            "ConceptMap/$translate",
            [{"name": "sourceSystem", "valueUri": COLORS}, {"name": "sourceCode", "valueCode": "red"}],
        ),
        200,
        "Parameters",
    )
    assert param(body, "result") is True
    [match] = params_named(body, "match")
    assert {"name": "concept", "valueCoding": {"system": "http://example.org/rgb", "code": "ff0000"}} in match


def test_batch_validate_code(client):
    body = assert_fhir_response(
        post(
            client,
            "ValueSet/$batch-validate-code",
            [
                {"name": "url", "valueUri": COLORS_VS},
                *(
                    {
                        "name": "validation",
                        "resource": {
                            "resourceType": "Parameters",
                            "parameter": [{"name": "coding", "valueCoding": {"system": COLORS, "code": code}}],
                        },
                    }
                    for code in ("red", "blue")
                ),
            ],
        ),
        200,
        "Parameters",
    )
    results = [param(p["resource"], "result") for p in body["parameter"]]
    assert results == [True, False]


def test_cache_control_keeps_resources_for_later_requests(client):
    started = assert_fhir_response(
        client.post("/fhir/$cache-control?mode=start", json={"resourceType": "Parameters", "parameter": RESOURCES}),
        200,
        "Parameters",
    )
    cache_id = param(started, "cache-id")
    response = client.get(
        "/fhir/CodeSystem/$lookup", query_string={"system": COLORS, "code": "red"}, headers={"X-Cache-Id": cache_id}
    )
    assert param(assert_fhir_response(response, 200, "Parameters"), "display") == "Red"
    client.post("/fhir/$cache-control?mode=end", json={"resourceType": "Parameters"}, headers={"X-Cache-Id": cache_id})
    response = client.get(
        "/fhir/CodeSystem/$lookup", query_string={"system": COLORS, "code": "red"}, headers={"X-Cache-Id": cache_id}
    )
    outcome = assert_fhir_response(response, 404, "OperationOutcome")  # never answered without the set
    assert "Send the resources again" in outcome["issue"][0]["details"]["text"]


def test_cache_sets_are_shared_between_worker_processes(tmp_path):
    first, second = ResourceCache(tmp_path), ResourceCache(tmp_path)
    cache_id = first.start([CODE_SYSTEM])
    assert second.get(cache_id) == [CODE_SYSTEM]
    second.end(cache_id)
    for gone in (cache_id, "../../etc/passwd"):
        with pytest.raises(NotFound):
            ResourceCache(tmp_path).get(gone)


def test_cache_sets_are_bounded_by_bytes_in_memory_and_on_disk(tmp_path):
    one_set = [{**CODE_SYSTEM, "url": "http://example.org/padded", "description": "x" * 1000}]
    size = len(orjson.dumps(one_set))
    cache = ResourceCache(tmp_path, max_bytes=3 * size + 10)
    ids = [cache.start(one_set) for _ in range(6)]
    assert cache.memory_bytes() <= 3 * size + 10
    assert sum(p.stat().st_size for p in tmp_path.glob("*.json")) <= 3 * size + 10
    assert all(cache.get(i) == one_set for i in ids[-3:])  # the newest are kept
    with pytest.raises(NotFound):
        cache.get(ids[0])  # the least recently used went, in memory and on disk


def test_cache_sets_expire_and_are_private_to_the_service_user(tmp_path):
    cache = ResourceCache(tmp_path / "cache", idle_seconds=0.3)
    cache_id = cache.start([CODE_SYSTEM])
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (tmp_path / "cache").glob("*.json"))
    time.sleep(0.5)
    for reader in (cache, ResourceCache(tmp_path / "cache", idle_seconds=0.3)):  # this worker and another
        with pytest.raises(NotFound):
            reader.get(cache_id)


def test_unpaged_expansion_over_the_limit_is_too_costly(client):
    big = {**CODE_SYSTEM, "url": "http://example.org/big", "concept": [{"code": f"c{i}"} for i in range(50)]}
    response = client.post(
        "/fhir/ValueSet/$expand",
        headers={"X-TOO-COSTLY-THRESHOLD": "10"},
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "tx-resource", "resource": big},
                {
                    "name": "valueSet",
                    "resource": {
                        "resourceType": "ValueSet",
                        "status": "active",
                        "compose": {"include": [{"system": "http://example.org/big"}]},
                    },
                },
            ],
        },
    )
    body = assert_fhir_response(response, 422, "OperationOutcome")
    assert body["issue"][0]["code"] == "too-costly"


def test_a_page_is_cut_to_the_largest_page_whatever_count_asks(client):
    big = {**CODE_SYSTEM, "url": "http://example.org/big", "concept": [{"code": f"c{i}"} for i in range(50)]}
    response = client.post(
        "/fhir/ValueSet/$expand",
        headers={"X-TOO-COSTLY-THRESHOLD": "10"},
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "tx-resource", "resource": big},
                {"name": "count", "valueInteger": 2_147_483_647},
                {
                    "name": "valueSet",
                    "resource": {
                        "resourceType": "ValueSet",
                        "status": "active",
                        "compose": {"include": [{"system": "http://example.org/big"}]},
                    },
                },
            ],
        },
    )
    expansion = assert_fhir_response(response, 200, "ValueSet")["expansion"]
    assert len(expansion["contains"]) == 10 and expansion["total"] == 50


def _nested(depth: int) -> dict:
    concept = {"code": f"c{depth}"}
    for level in range(depth - 1, 0, -1):
        concept = {"code": f"c{level}", "concept": [concept]}
    return {**CODE_SYSTEM, "url": "http://example.org/deep", "concept": [concept]}


def _chained(depth: int) -> dict:
    """A hierarchy made by parent properties: no nesting in the resource, all of it in the expansion."""
    return {
        **CODE_SYSTEM,
        "url": "http://example.org/deep",
        "property": [{"code": "parent", "type": "code"}],
        "concept": [{"code": "c1"}]
        + [{"code": f"c{i}", "property": [{"code": "parent", "valueCode": f"c{i - 1}"}]} for i in range(2, depth + 1)],
    }


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "make, depth, status",
    [(_nested, 100, 200), (_nested, 130, 400), (_nested, 300, 400), (_chained, 100, 200), (_chained, 150, 422)],
)
def test_nesting_beyond_the_limit_is_refused_naming_it(client, fmt, make, depth, status):
    from lxml import etree

    response = client.post(
        f"/fhir/ValueSet/$expand?_format={fmt}",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "tx-resource", "resource": make(depth)},
                {
                    "name": "valueSet",
                    "resource": {
                        "resourceType": "ValueSet",
                        "status": "active",
                        "compose": {"include": [{"system": "http://example.org/deep"}]},
                    },
                },
            ],
        },
    )
    assert response.status_code == status
    if fmt == "xml":
        root = etree.fromstring(response.get_data())  # well-formed, whatever the depth
        assert root.tag.endswith("ValueSet" if status == 200 else "OperationOutcome")
    else:
        assert_fhir_response(response, status, "ValueSet" if status == 200 else "OperationOutcome")
    if status != 200:
        assert "100 levels" in response.get_data(as_text=True)


def test_catastrophic_regex_does_not_hang(client):
    response = post(
        client,
        "ValueSet/$expand",
        [
            {
                "name": "valueSet",
                "resource": {
                    "resourceType": "ValueSet",
                    "status": "active",
                    "compose": {
                        "include": [
                            {"system": COLORS, "filter": [{"property": "code", "op": "regex", "value": "(a+)+$"}]}
                        ]
                    },
                },
            }
        ],
    )
    assert_fhir_response(response, 200, "ValueSet")


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "CodeSystem", "url": COLORS, "concept": "red"},
        {"resourceType": "CodeSystem", "url": COLORS, "concept": [{"display": "no code"}]},
        {"resourceType": "ValueSet", "compose": {"include": [{"concept": [{"code": 1}]}]}},
        {"resourceType": "Patient"},
        "not a resource",
    ],
)
def test_malformed_request_resources_are_400(client, resource):
    response = client.post(
        "/fhir/ValueSet/$expand",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "tx-resource", "resource": resource}
                if isinstance(resource, dict)
                else {"name": "tx-resource", "valueString": resource},
                {"name": "url", "valueUri": COLORS_VS},
            ],
        },
    )
    assert_fhir_response(response, 400, "OperationOutcome")


def test_core_resources_are_served_from_files(client):
    response = client.get(
        "/fhir/ValueSet/$expand", query_string={"url": "http://hl7.org/fhir/ValueSet/administrative-gender"}
    )
    body = assert_fhir_response(response, 200, "ValueSet")
    assert {c["code"] for c in body["expansion"]["contains"]} == {"male", "female", "other", "unknown"}


def test_a_bad_resource_file_is_reported_and_skipped(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(CODE_SYSTEM))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "invalid.json").write_text(json.dumps({**CODE_SYSTEM, "concept": "red"}))
    (tmp_path / "patient.json").write_text(json.dumps({"resourceType": "Patient"}))
    resources, problems = read_resources([tmp_path])
    assert [r["url"] for r in resources] == [COLORS]
    assert sorted(p.split(":")[0] for p in problems) == ["broken.json", "invalid.json", "patient.json"]


def test_versions_and_languages():
    assert matches("1.0.x", "1.0.7") and matches("1.x.x", "1.2.0") and not matches("1", "1.0.0")
    assert newest(["1.2.0", "1.10.0", "1.9.9"]) == "1.10.0"
    names = [{"value": "Red", "language": "en", "default": True}, {"value": "Rot", "language": "de-CH"}]
    assert choose(names, Languages.parse("de"))["value"] == "Rot"
    assert choose(names, Languages.parse("fr"))["value"] == "Red"
    assert choose(names, Languages.parse("fr, *;q=0")) is None


def test_value_sets_mixing_icd10cm_with_other_systems(client):
    mixed = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/back-and-colors",
        "status": "active",
        "compose": {
            "include": [
                {
                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                    "filter": [{"property": "concept", "op": "is-a", "value": "M54.5"}],
                },
                {"system": COLORS, "concept": [{"code": "red"}]},
            ]
        },
    }
    expanded = assert_fhir_response(
        post(client, "ValueSet/$expand", [{"name": "valueSet", "resource": mixed}]), 200, "ValueSet"
    )
    codes = {c["code"] for c in expanded["expansion"]["contains"]}
    assert {"M54.5", "M54.50", "M54.59", "red"} <= codes
    header = next(c for c in expanded["expansion"]["contains"] if c["code"] == "M54.5")
    assert header["abstract"] is True
    body = assert_fhir_response(
        post(
            client,
            "ValueSet/$validate-code",
            [
                {"name": "valueSet", "resource": mixed},
                {
                    "name": "coding",
                    "valueCoding": {
                        "system": "http://hl7.org/fhir/sid/icd-10-cm",
                        "code": "M54.50",
                        "display": "Low back pain, unspecified",
                    },
                },
            ],
        ),
        200,
        "Parameters",
    )
    assert param(body, "result") is True
    outside = assert_fhir_response(
        post(
            client,
            "ValueSet/$validate-code",
            [
                {"name": "valueSet", "resource": mixed},
                {"name": "coding", "valueCoding": {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.2"}},
            ],
        ),
        200,
        "Parameters",
    )
    assert param(outside, "result") is False


@pytest.mark.parametrize(
    "a, b, outcome",
    [
        ("warm", "red", "subsumes"),
        ("red", "warm", "subsumed-by"),
        ("red", "red", "equivalent"),
        ("red", "blue", "not-subsumed"),
    ],
)
def test_subsumes(client, a, b, outcome):
    body = assert_fhir_response(
        post(
            client,
            "CodeSystem/$subsumes",
            [
                {"name": "system", "valueUri": COLORS},
                {"name": "codeA", "valueCode": a},
                {"name": "codeB", "valueCode": b},
            ],
        ),
        200,
        "Parameters",
    )
    assert param(body, "outcome") == outcome


def test_resource_bundle_is_rebuilt_when_a_file_changes(tmp_path):
    folder, store = tmp_path / "codesystems", tmp_path / "store"
    folder.mkdir()
    (folder / "colors.json").write_text(json.dumps(CODE_SYSTEM))
    assert [r["version"] for r in read_bundle(store, [folder])] == ["2.0.0"]
    (folder / "colors.json").write_text(json.dumps({**CODE_SYSTEM, "version": "2.1.0"}))
    assert [r["version"] for r in read_bundle(store, [folder])] == ["2.1.0"]


# ------------------------------------------------------------------------------------------ fuzz
# Whatever a request carries, the answer is < 500 and a valid FHIR resource.

NASTY = [
    "",
    " ",
    "\n",
    "\x00",
    "x" * 5_000,
    "☃",
    "%",
    "*",
    "|",
    "||",
    "a|b|c",
    "' OR 1=1 --",
    "../../etc/passwd",
    "(a+)+$",
    "[",
    "1.x",
    "1.0.x",
    "true",
    "-1",
    "99999999999999999999",
    "de;q=abc",
    "*;q=0",
    "#",
    "#vs1",
]
FIELDS = {
    "code": "valueCode",
    "system": "valueUri",
    "version": "valueString",
    "display": "valueString",
    "url": "valueUri",
    "count": "valueInteger",
    "offset": "valueInteger",
    "filter": "valueString",
    "displayLanguage": "valueCode",
    "valueSetVersion": "valueString",
    "system-version": "valueCanonical",
    "useSupplement": "valueCanonical",
    "property": "valueCode",
    "designation": "valueString",
}
OPERATIONS = {
    "lookup": ("CodeSystem/$lookup", {"system": COLORS, "code": "red"}),
    "cs-validate": ("CodeSystem/$validate-code", {"url": COLORS, "code": "red"}),
    "vs-validate": ("ValueSet/$validate-code", {"url": COLORS_VS, "system": COLORS, "code": "red"}),
    "expand": ("ValueSet/$expand", {"url": COLORS_VS}),
    "translate": ("ConceptMap/$translate", {"sourceSystem": COLORS, "sourceCode": "red"}),
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("field", FIELDS)
def test_fuzz_general_operations(client, operation, field):
    path, base = OPERATIONS[operation]
    for value in NASTY:
        entries = [{"name": k, "valueString": v} for k, v in {**base, field: value}.items()]
        response = post(client, path, entries)
        assert response.status_code < 500, (field, value, response.get_data(as_text=True)[:500])
        assert_fhir_response(response)
        typed = {"name": field, FIELDS[field]: value}
        response = post(client, path, [{"name": k, "valueString": v} for k, v in base.items() if k != field] + [typed])
        assert response.status_code < 500, (field, value, response.get_data(as_text=True)[:500])


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "coding", "valueCoding": "x"},
        {"name": "coding", "valueCoding": {"system": 1, "code": []}},
        {"name": "codeableConcept", "valueCodeableConcept": {"coding": "x"}},
        {"name": "codeableConcept", "valueCodeableConcept": {"coding": [None, 1, {"code": {}}]}},
        {
            "name": "valueSet",
            "resource": {"resourceType": "ValueSet", "compose": {"include": [{"system": COLORS, "filter": [{}]}]}},
        },
        {"name": "valueSet", "resource": {"resourceType": "ValueSet", "compose": {"include": [{"valueSet": ["#x"]}]}}},
        {"name": "count", "valueInteger": "many"},
        {"name": "activeOnly", "valueBoolean": "maybe"},
        {"name": "displayLanguage", "valueCode": 5},
        {"name": "tx-resource", "resource": {"resourceType": "CodeSystem", "concept": [{"code": "x", "concept": 3}]}},
    ],
)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_wrong_types_are_4xx_not_5xx(client, operation, entry):
    path, base = OPERATIONS[operation]
    response = post(client, path, [{"name": k, "valueString": v} for k, v in base.items()] + [entry])
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert_fhir_response(response)


def test_resources_of_the_folders_are_read_searched_and_operated_on_by_id(client):
    gender = assert_fhir_response(client.get("/fhir/ValueSet/administrative-gender"), 200, "ValueSet")
    assert gender["url"] == "http://hl7.org/fhir/ValueSet/administrative-gender"
    bundle = assert_fhir_response(client.get("/fhir/ValueSet"), 200, "Bundle")
    assert "http://hl7.org/fhir/ValueSet/administrative-gender" in {e["resource"]["url"] for e in bundle["entry"]}
    expanded = assert_fhir_response(client.get("/fhir/ValueSet/administrative-gender/$expand"), 200, "ValueSet")
    assert expanded["expansion"]["total"] == 4
    valid = assert_fhir_response(
        client.get(
            "/fhir/ValueSet/administrative-gender/$validate-code",
            query_string={"system": "http://hl7.org/fhir/administrative-gender", "code": "female"},
        ),
        200,
        "Parameters",
    )
    assert param(valid, "result") is True
    assert_fhir_response(client.get("/fhir/CodeSystem/publication-status"), 200, "CodeSystem")
    looked_up = assert_fhir_response(
        client.get("/fhir/CodeSystem/publication-status/$lookup", query_string={"code": "retired"}), 200, "Parameters"
    )
    assert param(looked_up, "display") == "Retired"
    checked = assert_fhir_response(
        client.get("/fhir/CodeSystem/publication-status/$validate-code", query_string={"code": "gone"}),
        200,
        "Parameters",
    )
    assert param(checked, "result") is False
    assert client.get("/fhir/ValueSet/no-such-thing").status_code == 404


def test_implicit_value_sets_of_any_code_system(client):
    everything = assert_fhir_response(
        post(
            client,
            "ValueSet/$expand",
            [{"name": "url", "valueUri": f"{COLORS}?fhir_vs"}, {"name": "excludeNested", "valueBoolean": True}],
        ),
        200,
        "ValueSet",
    )
    assert everything["expansion"]["total"] == 6
    below = assert_fhir_response(
        post(client, "ValueSet/$expand", [{"name": "url", "valueUri": f"{COLORS}?fhir_vs=isa/cold"}]), 200, "ValueSet"
    )
    assert below["expansion"]["total"] == 2
