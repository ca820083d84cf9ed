"""ValueSets, $expand (compose filters, text search, paging, size guard) and $subsumes."""

from __future__ import annotations

import time

import pytest
from helpers import ICD10CM, assert_fhir

from service.errors import LoadError
from service.icd10cm.loaders.valuesets import VALUESET_DIR, read_valuesets

EXPAND = "/fhir/ValueSet/$expand"
ALL = f"{ICD10CM}?fhir_vs"


def expand(client, status=200, **params):
    response = client.get(EXPAND, query_string=params)
    body = response.get_json()
    assert response.status_code == status, body
    assert_fhir(body)
    return body


def codes(body) -> list[str]:
    return [c["code"] for c in body["expansion"].get("contains", ())]


def compose_expand(client, *filters, status=200, **params):
    value_set = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {
            "include": [
                {"system": ICD10CM, "filter": [dict(zip(("property", "op", "value"), f, strict=True)) for f in filters]}
            ]
        },
    }
    response = client.post(
        EXPAND,
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "valueSet", "resource": value_set},
                *({"name": k, ("valueInteger" if isinstance(v, int) else "valueString"): v} for k, v in params.items()),
            ],
        },
    )
    body = response.get_json()
    assert response.status_code == status, body
    assert_fhir(body)
    return body


# ------------------------------------------------------------------------------------ hierarchy


def test_every_ancestor_is_a_prefix_of_its_descendants(tabular):
    """Why is-a can be a range on the code index: ICD-10-CM codes extend their parent's code."""
    for code in tabular.codes.values():
        if code.parent:
            assert code.code.startswith(code.parent), code.code


def test_implicit_isa_value_set(client):
    body = expand(client, url=f"{ALL}=isa/M54.5")
    assert codes(body) == ["M54.5", "M54.50", "M54.51", "M54.59"]
    assert body["expansion"]["total"] == 4
    assert [c.get("abstract") for c in body["expansion"]["contains"]] == [True, None, None, None]
    used = {p["name"]: p for p in body["expansion"]["parameter"]}
    assert used["used-codesystem"]["valueUri"] == f"{ICD10CM}|2026-04"


def test_seventh_character_codes_are_below_their_base(client):
    assert codes(expand(client, url=f"{ALL}=isa/S52.501")) == ["S52.501", *(f"S52.501{c}" for c in "ABCDEFGHJKMNPQRS")]


@pytest.mark.parametrize(
    "filters, expected",
    [
        ((("concept", "is-a", "M54.5"),), {"M54.5", "M54.50", "M54.51", "M54.59"}),
        ((("concept", "descendent-of", "M54.5"),), {"M54.50", "M54.51", "M54.59"}),
        (
            (
                ("concept", "is-a", "M54"),
                ("concept", "is-not-a", "M54.1"),
                ("billable", "=", "true"),
                ("concept", "is-not-a", "M54.0"),
            ),
            {
                "M54.2",
                "M54.30",
                "M54.31",
                "M54.32",
                "M54.40",
                "M54.41",
                "M54.42",
                "M54.50",
                "M54.51",
                "M54.59",
                "M54.6",
                "M54.81",
                "M54.89",
                "M54.9",
            },
        ),
        ((("concept", "generalizes", "M54.51"),), {"M54", "M54.5", "M54.51"}),
        ((("concept", "in", "M54.9,M53.9"),), {"M54.9", "M53.9"}),
        ((("concept", "is-a", "M54.5"), ("concept", "not-in", "M54.50,M54.5")), {"M54.51", "M54.59"}),
        ((("code", "regex", "M54\\.5[0-9]"),), {"M54.50", "M54.51", "M54.59"}),
        (
            (("block", "=", "M50-M54"), ("display", "regex", "(?i).*sciatica.*")),
            {"M54.3", "M54.30", "M54.31", "M54.32", "M54.4", "M54.40", "M54.41", "M54.42"},
        ),
        ((("chapter", "=", "13"), ("parent", "=", "M54.5")), {"M54.50", "M54.51", "M54.59"}),
        ((("concept", "is-a", "T07"), ("sevenChrDef", "exists", "true")), {"T07", "T07.XXXA", "T07.XXXD", "T07.XXXS"}),
        ((("concept", "is-a", "M54.5"), ("child", "exists", "false")), {"M54.50", "M54.51", "M54.59"}),
        ((("concept", "is-a", "M54.5"), ("notSelectable", "=", "true")), {"M54.5"}),
    ],
)
def test_compose_filters(client, filters, expected):
    assert set(codes(compose_expand(client, *filters, count=100))) == expected


def test_an_unknown_filter_says_what_is_supported(client):
    body = compose_expand(client, ("colour", "=", "blue"), status=400)
    text = body["issue"][0]["details"]["text"]
    assert "colour = blue" in text and "is-a" in text and "billable" in text


def test_catastrophic_regex_does_not_hang(client):
    started = time.perf_counter()
    compose_expand(client, ("code", "regex", "(M+)+$"), count=10)
    compose_expand(client, ("display", "regex", "((a|aa)+)+b"), count=10)
    assert time.perf_counter() - started < 5
    compose_expand(client, ("code", "regex", "(unclosed"), status=400)


# ----------------------------------------------------------------------------------------- search

# (query, codes any of which should lead the results)
SEARCH_QUALITY = [
    ("low back pain", {"M54.5", "M54.50"}),
    ("backache", {"M54.9"}),
    ("lumb radic", {"M54.16", "M54.17"}),
    ("radic lumb", {"M54.16", "M54.17"}),
    ("sciatica right", {"M54.31"}),
    ("neck pain", {"M54.2"}),
    ("essential hypertension", {"I10"}),
    ("type 2 diabetes", {"E11", "E11.9"}),
    ("asthma", {"J45", "J45.909", "J45.9"}),
    ("copd", {"J44.1", "J44.9", "J44"}),
    ("urinary tract infection", {"N39.0"}),
    ("pneumonia", {"J18.9", "J18"}),
    ("migraine", {"G43", "G43.9", "G43.909"}),
    ("anxiety", {"F41.9", "F41"}),
    ("atrial fibrillation", {"I48", "I48.91"}),
    ("chest pain", {"R07.9", "R07"}),
    ("headache", {"R51", "R51.9"}),
    ("covid", {"U07.1"}),
    ("hyperlipidemia", {"E78.5"}),
    ("gastro-esophageal reflux", {"K21", "K21.9"}),
    ("osteoarthritis knee", {"M17", "M17.9"}),
    ("obesity", {"E66.9", "E66"}),
    ("vitamin d deficiency", {"E55", "E55.9"}),
    ("hypothyroidism", {"E03.9", "E03"}),
    ("dizziness", {"R42"}),
    ("fever", {"R50", "R50.9"}),
    ("cough", {"R05", "R05.9"}),
    ("acute bronchitis", {"J20", "J20.9"}),
    ("dorsalgia", {"M54", "M54.9"}),
    ("m545", {"M54.5"}),
    ("M54.5", {"M54.5"}),
    ("S52.5", {"S52.5"}),
    # Added after the ranking was tuned on the queries above, and not tuned on (a held-out check).
    ("sepsis", {"A41.9"}),
    ("hypertension", {"I10"}),
    ("gout", {"M10", "M10.9"}),
    ("anemia", {"D64.9"}),
    ("constipation", {"K59.0", "K59.00"}),
    ("insomnia", {"G47.0", "G47.00"}),
    ("depression", {"F32.A"}),
    ("influenza", {"J11", "J11.1", "J11.00"}),
    ("otitis media", {"H66.9", "H66.90", "H66.91", "H66.92", "H66.93"}),
    ("conjunctivitis", {"H10", "H10.9"}),
    ("cellulitis", {"L03.90"}),
    ("hypokalemia", {"E87.6"}),
    ("dehydration", {"E86.0"}),
    ("syncope", {"R55"}),
    ("hematuria", {"R31", "R31.9"}),
    ("nausea", {"R11.0"}),
    ("rash", {"R21"}),
    ("fatigue", {"R53.83", "R53.8", "R53"}),
    ("acute kidney injury", {"N17.9"}),
    ("heart failure", {"I50", "I50.9"}),
]


def precision(client, k: int) -> float:
    hits = sum(
        bool(set(codes(expand(client, url=ALL, filter=query, count=k))) & expected)
        for query, expected in SEARCH_QUALITY
    )
    return hits / len(SEARCH_QUALITY)


def test_search_quality(client):
    p1, p5 = precision(client, 1), precision(client, 5)
    print(f"\nsearch quality over {len(SEARCH_QUALITY)} queries: P@1 = {p1:.2f}, P@5 = {p5:.2f}")
    assert p1 >= 0.85 and p5 >= 0.9


def test_search_words_in_any_order_and_prefixes(client):
    assert codes(expand(client, url=ALL, filter="lumb radic", count=2)) == codes(
        expand(client, url=ALL, filter="radic lumb", count=2)
    )
    assert codes(expand(client, url=ALL, filter="backache", count=5))[0] == "M54.9"


@pytest.mark.parametrize("query", ["M54.5", "m545", "M545", " m54.5 "])
def test_search_by_code_prefix(client, query):
    assert codes(expand(client, url=ALL, filter=query, count=10)) == ["M54.5", "M54.50", "M54.51", "M54.59"]


def test_paging_is_stable(client):
    full = codes(expand(client, url=ALL, filter="fracture femur", count=60))
    pages = [codes(expand(client, url=ALL, filter="fracture femur", count=20, offset=o)) for o in (0, 20, 40)]
    assert sum(pages, []) == full and len(set(full)) == 60


def test_exclude_not_for_ui_drops_headers(client):
    body = expand(client, url=f"{ALL}=isa/M54.5", excludeNotForUI="true")
    assert codes(body) == ["M54.50", "M54.51", "M54.59"]


def test_too_costly_without_count(client):
    body = expand(client, status=422, url=ALL)
    assert body["issue"][0]["code"] == "too-costly" and "98,186" in body["issue"][0]["details"]["text"]
    assert expand(client, url=ALL, count=10)["expansion"]["total"] == 98_186


# ------------------------------------------------------------------------------------- ValueSets


def test_shipped_value_sets(client):
    bundle = client.get("/fhir/ValueSet?_count=1000").get_json()
    assert_fhir(bundle, "Bundle")
    ids = {e["resource"]["id"] for e in bundle["entry"]}
    # Besides the files of valuesets/, one per risk adjustment model and category (tests/test_hcc.py).
    risk = {i for i in ids if i.startswith(("hcc-", "rxhcc-"))}
    assert len(risk) > 500 and "hcc-v28-38" in risk
    assert ids - risk == {
        "icd10cm-billable",
        "icd10cm-dorsopathies",
        "icd10cm-dorsalgia-billable",
        "icd10cm-spine-unspecified",
        "icd10cm-low-back-pain",
        "administrative-gender",
        "publication-status",
    }
    assert all("compose" in e["resource"] and "expansion" not in e["resource"] for e in bundle["entry"])
    billable = client.get("/fhir/ValueSet/icd10cm-billable/$expand?count=0").get_json()
    assert billable["expansion"]["total"] == 74_719
    dorsalgia = client.get("/fhir/ValueSet/icd10cm-dorsalgia-billable/$expand").get_json()
    assert dorsalgia["expansion"]["total"] == 33 and "M54.9" in codes(dorsalgia)
    unspecified = codes(client.get("/fhir/ValueSet/icd10cm-spine-unspecified/$expand?count=1000").get_json())
    assert "M54.9" in unspecified and "M53.9" in unspecified and "M54.50" in unspecified and "M54.51" not in unspecified
    by_url = expand(client, url="https://icd10cm-tx.org/fhir/ValueSet/icd10cm-low-back-pain")
    assert "M54.50" in codes(by_url) and "M54.41" in codes(by_url)


def test_value_set_search_pages(client):
    first = client.get("/fhir/ValueSet?_elements=url,version&_count=50").get_json()
    assert_fhir(first, "Bundle")
    total = first["total"]
    assert total > 500 and len(first["entry"]) == 50  # 7 files and the risk adjustment categories
    assert set(first["entry"][0]["resource"]) <= {"resourceType", "id", "url", "version", "status", "meta"}
    seen = [e["resource"]["url"] for e in first["entry"]]
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while link:
        page = client.get(link.split("/fhir", 1)[1].join(["/fhir", ""])).get_json()
        seen += [e["resource"]["url"] for e in page.get("entry", ())]
        link = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == total


def test_unknown_value_set(client):
    assert expand(client, status=404, url="http://example.org/nothing")["issue"][0]["code"] == "not-found"
    assert client.get("/fhir/ValueSet/nothing").status_code == 404


def test_value_set_files_are_validated(tmp_path):
    assert len(read_valuesets(VALUESET_DIR)) == 5
    (tmp_path / "bad.json").write_text('{"resourceType": "ValueSet", "status": "sometimes", "compose": {}}')
    with pytest.raises(LoadError) as raised:
        read_valuesets(tmp_path)
    assert "bad.json" in raised.value.message


# ------------------------------------------------------------------------------------- $subsumes


@pytest.mark.parametrize(
    "a, b, outcome",
    [
        ("S52.501", "S52.501A", "subsumes"),
        ("S52.501A", "S52", "subsumed-by"),
        ("M54.9", "M54.9", "equivalent"),
        ("M549", "M54", "subsumed-by"),
        ("M54.9", "M53.9", "not-subsumed"),
    ],
)
def test_subsumes(client, a, b, outcome):
    response = client.get("/fhir/CodeSystem/$subsumes", query_string={"system": ICD10CM, "codeA": a, "codeB": b})
    body = response.get_json()
    assert_fhir(body, "Parameters")
    assert body["parameter"] == [{"name": "outcome", "valueCode": outcome}]


def test_subsumes_errors(client):
    unknown = client.get(
        "/fhir/CodeSystem/$subsumes", query_string={"system": ICD10CM, "codeA": "M54.99", "codeB": "M54"}
    )
    assert unknown.status_code == 404
    missing = client.get("/fhir/CodeSystem/$subsumes", query_string={"system": ICD10CM, "codeA": "M54"})
    assert missing.status_code == 400
    post = client.post(
        "/fhir/CodeSystem/$subsumes",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "codingA", "valueCoding": {"system": ICD10CM, "code": "T07"}},
                {"name": "codingB", "valueCoding": {"system": ICD10CM, "code": "T07.XXXA"}},
            ],
        },
    )
    assert post.get_json()["parameter"] == [{"name": "outcome", "valueCode": "subsumes"}]


# ------------------------------------------------------------------------ ValueSet/$validate-code

VS_VALIDATE = "/fhir/ValueSet/$validate-code"
LOW_BACK_PAIN = "https://icd10cm-tx.org/fhir/ValueSet/icd10cm-low-back-pain"


def vs_validate(client, **params):
    response = client.get(VS_VALIDATE, query_string=params)
    body = response.get_json()
    assert response.status_code == 200, body
    assert_fhir(body, "Parameters")
    return {p["name"]: p for p in body["parameter"]}, body


def test_value_set_validate_member(client):
    found, _ = vs_validate(client, url=LOW_BACK_PAIN, system=ICD10CM, code="M54.50")
    assert found["result"]["valueBoolean"] is True
    assert found["display"]["valueString"] == "Low back pain, unspecified"
    assert found["version"]["valueString"] == "2026-04"
    assert "guidance" in found  # the same guidance as CodeSystem/$validate-code


def test_value_set_validate_says_why_a_code_is_not_a_member(client):
    found, _ = vs_validate(
        client, url="https://icd10cm-tx.org/fhir/ValueSet/icd10cm-dorsalgia-billable", code="M54.5", guidance="none"
    )  # the system is inferred: ICD-10-CM only
    assert found["result"]["valueBoolean"] is False
    issues = found["issues"]["resource"]["issue"]
    not_in = [i for i in issues if i["details"]["coding"][0]["code"] == "not-in-vs"]
    assert not_in and "icd10cm-dorsalgia-billable" in not_in[0]["details"]["text"]
    assert any("billable = true" in i["details"]["text"] for i in issues)
    outside, _ = vs_validate(client, url=LOW_BACK_PAIN, code="M53.9", guidance="none")
    assert outside["result"]["valueBoolean"] is False


def test_value_set_validate_implicit_and_inline(client):
    found, _ = vs_validate(client, url=f"{ALL}=isa/M54", system=ICD10CM, code="M549", guidance="none")
    assert found["result"]["valueBoolean"] is True and found["normalized-code"]["valueCode"] == "M54.9"
    value_set = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"system": ICD10CM, "concept": [{"code": "M54.9"}, {"code": "M53.9"}]}]},
    }
    response = client.post(
        VS_VALIDATE,
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "valueSet", "resource": value_set},
                {"name": "coding", "valueCoding": {"system": ICD10CM, "code": "M54.2"}},
            ],
        },
    )
    body = response.get_json()
    assert_fhir(body, "Parameters")
    assert next(p["valueBoolean"] for p in body["parameter"] if p["name"] == "result") is False
    assert "not among the codes the value set lists" in str(body)


def test_expansion_designations_properties_and_definition(client):
    body = expand(
        client,
        url=f"{ALL}=isa/M54.5",
        includeDesignations="true",
        property=["billable", "parent"],
        includeDefinition="true",
    )
    contains = {c["code"]: c for c in body["expansion"]["contains"]}
    assert [d["value"] for d in contains["M54.50"]["designation"]] == ["Loin pain", "Lumbago NOS"]
    values = {
        e["extension"][0]["valueCode"]: next(v for k, v in e["extension"][1].items() if k.startswith("value"))
        for e in contains["M54.50"]["extension"]
    }
    assert values == {"billable": True, "parent": "M54.5"}
    declared = [e["extension"][0]["valueCode"] for e in body["expansion"]["extension"]]
    assert declared == ["billable", "parent"]
    assert "compose" in body
    echoed = {p["name"] for p in body["expansion"]["parameter"]}
    assert {"includeDesignations", "includeDefinition", "used-codesystem"} <= echoed
    assert "compose" not in expand(client, url=f"{ALL}=isa/M54.5")


def test_system_version_parameters(client):
    pinned = expand(client, url=f"{ALL}=isa/M54.5", **{"system-version": f"{ICD10CM}|2026-04"})
    assert {p["name"]: p for p in pinned["expansion"]["parameter"]}["used-codesystem"]["valueUri"].endswith("2026-04")
    unknown = expand(client, status=404, url=f"{ALL}=isa/M54.5", **{"force-system-version": f"{ICD10CM}|2019"})
    assert "2019" in unknown["issue"][0]["details"]["text"]
    mismatch = expand(client, status=400, url=f"{ALL}=isa/M54.5", **{"check-system-version": f"{ICD10CM}|2027"})
    assert "check-system-version" in mismatch["issue"][0]["details"]["text"]


# -------------------------------------------------------------------------------------- bad input

NASTY_VALUES = [
    "",
    " ",
    "%",
    "_",
    "*",
    '"',
    "'",
    "' OR 1=1 --",
    "a" * 3000,
    "M54.9\n",
    "\x00",
    "☃",
    "M",
    "-",
    "((((",
    "[a-",
    "\\",
    "NEAR(",
    "AND",
    "OR NOT",
    "^",
    "$",
    "{}",
    "M54.5-",
    "isa/",
    "|",
]


@pytest.mark.parametrize("value", NASTY_VALUES)
@pytest.mark.parametrize(
    "name",
    [
        "filter",
        "url",
        "count",
        "offset",
        "valueSetVersion",
        "system-version",
        "check-system-version",
        "excludeNotForUI",
        "property",
    ],
)
def test_expand_never_fails_on_bad_input(client, name, value):
    params = {"url": f"{ALL}=isa/M54", "count": "5", name: value}
    response = client.get(EXPAND, query_string=params)
    assert response.status_code < 500, response.data
    assert_fhir(response.get_json())


@pytest.mark.parametrize("value", NASTY_VALUES)
@pytest.mark.parametrize(
    "target",
    [
        "vs-code",
        "vs-url",
        "vs-system",
        "subsumes-a",
        "subsumes-system",
        "search-url",
        "search-count",
        "filter-value",
        "filter-op",
    ],
)
def test_other_operations_never_fail_on_bad_input(client, target, value):
    if target.startswith("vs-"):
        params = {"url": LOW_BACK_PAIN, "system": ICD10CM, "code": "M54.50"}
        params[target[3:]] = value
        response = client.get(VS_VALIDATE, query_string=params)
    elif target.startswith("subsumes-"):
        params = {"system": ICD10CM, "codeA": "M54", "codeB": "M54.9"}
        params["codeA" if target.endswith("-a") else "system"] = value
        response = client.get("/fhir/CodeSystem/$subsumes", query_string=params)
    elif target.startswith("search-"):
        response = client.get("/fhir/ValueSet", query_string={"url" if target.endswith("url") else "_count": value})
    else:
        spec = {"property": "concept", "op": "is-a", "value": "M54"}
        spec["value" if target == "filter-value" else "op"] = value
        response = client.post(
            EXPAND,
            json={
                "resourceType": "Parameters",
                "parameter": [
                    {
                        "name": "valueSet",
                        "resource": {
                            "resourceType": "ValueSet",
                            "status": "active",
                            "compose": {"include": [{"system": ICD10CM, "filter": [spec]}]},
                        },
                    },
                    {"name": "count", "valueInteger": 5},
                ],
            },
        )
    assert response.status_code < 500, response.data
    assert_fhir(response.get_json())


@pytest.mark.parametrize(
    "value_set",
    [
        {"resourceType": "ValueSet"},
        {"resourceType": "ValueSet", "compose": []},
        {"resourceType": "ValueSet", "compose": {"include": "x"}},
        {"resourceType": "ValueSet", "compose": {"include": [{"system": ICD10CM, "filter": "x"}]}},
        {"resourceType": "ValueSet", "compose": {"include": [{"system": ICD10CM, "filter": [{"property": 1}]}]}},
        {"resourceType": "ValueSet", "compose": {"include": [{"system": ICD10CM, "concept": "M54"}]}},
        {"resourceType": "ValueSet", "compose": {"include": [{"system": ICD10CM, "concept": [{"code": 5}]}]}},
        {"resourceType": "ValueSet", "compose": {"include": [{"valueSet": ["http://example.org/none"]}]}},
        {"resourceType": "ValueSet", "compose": {"include": [{"valueSet": "x"}]}},
        {"resourceType": "ValueSet", "compose": {"include": [{"system": "http://snomed.info/sct"}]}},
        {"resourceType": "ValueSet", "compose": {"include": [{"system": ICD10CM}], "exclude": [{"system": 5}]}},
        {"resourceType": "Patient"},
    ],
)
def test_broken_inline_value_sets_are_4xx(client, value_set):
    response = client.post(
        EXPAND,
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "valueSet", "resource": value_set}, {"name": "count", "valueInteger": 5}],
        },
    )
    assert 400 <= response.status_code < 500, response.data
    assert_fhir(response.get_json(), "OperationOutcome")


@pytest.mark.parametrize("column", ["code", "display"])
@pytest.mark.parametrize(
    "pattern",
    [
        ".*pain.*",
        "(?i).*FRACTURE.*left.*",
        "M54\\.[0-9]+",
        "[^a]*",
        "A.*|.*b",
        "Low back pain",
        ".*\\n.*",
        "(?s).*",
        "^M54.*$",
        ".*(x|y)$",
        "",
        "(a+)+$",
        ".*[ÀÉé].*",
        "\\d+",
        "(?m)^S.*",
    ],
)
def test_a_regex_filter_matches_each_whole_value_as_fullmatch_would(engine, column, pattern):
    """The one-pass scan over every title (joined by newlines) selects exactly the codes whose value the
    pattern matches whole, as a match per row would: no match crosses a line, anchors mean the value's ends."""
    import re2

    release = engine.releases.default
    rows = release.all_concepts()
    values = {code: (code if column == "code" else display) for code, display, _, _ in rows}
    regex = re2.compile(pattern)
    expected = [code for code, value in values.items() if regex.fullmatch(value)]
    assert release.regex_codes(pattern, column) == expected


def test_a_query_past_the_request_budget_is_too_costly(engine):
    from service import budget
    from service.errors import TooCostly
    from service.icd10cm.compose import compile_filter

    release = engine.releases.default
    broad = compile_filter({"property": "display", "op": "regex", "value": "(?i).*(e|o)[^q]*"}, lambda code: [])
    with budget.budget(0.0), pytest.raises(TooCostly) as raised:
        release.select(broad.sql, broad.params, limit=10)
    assert raised.value.issue_code == "too-costly" and "0 s" in raised.value.message
    with budget.budget(30.0):  # within budget: answered, and the same codes as without one
        assert release.select(broad.sql, broad.params, limit=10) == release.select(broad.sql, broad.params, limit=10)
    assert release.concept("M54.9").display  # the connection still answers after an interrupted query
