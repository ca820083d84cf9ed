"""Coding guidance: editorial files, rule-derived items, the supplement and the extension."""

from __future__ import annotations

import sqlite3

import pytest
from helpers import ICD10CM, assert_fhir, inclusion_designations, param, properties

from service.errors import LoadError
from service.icd10cm.guidance.editorial import GUIDANCE_DIR, read_all
from service.icd10cm.guidance.fhir import GUIDANCE_EXTENSION

LOOKUP = "/fhir/CodeSystem/$lookup"
VALIDATE = "/fhir/CodeSystem/$validate-code"


def _parameters(client, path: str, query: dict) -> dict:
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert_fhir(body, "Parameters")
    return body


def lookup(client, code, **params):
    return _parameters(client, LOOKUP, {"system": ICD10CM, "code": code, **params})


def validate(client, code, **params):
    return _parameters(client, VALIDATE, {"url": ICD10CM, "code": code, **params})


def values(body, code):
    return [p["value"] for p in properties(body, code)]


def rules(body, rule_id=None):
    return [p for p in properties(body, "rule") if rule_id is None or p["subproperties"]["rule"] == [rule_id]]


def extension_items(body) -> list[dict]:
    [guidance] = [p for p in body["parameter"] if p["name"] == "guidance"]
    [extension] = guidance["extension"]
    assert extension["url"] == GUIDANCE_EXTENSION
    return extension["extension"]


# ------------------------------------------------------------------------------------- the seeds


def test_m54_9_carries_the_seed_facts(client):
    body = lookup(client, "M54.9")
    assert inclusion_designations(body) == ["Backache NOS", "Back pain NOS"]
    assert values(body, "inclusionTerm") == ["Backache NOS", "Back pain NOS"]
    # Excludes1 psychogenic dorsalgia (F45.41), inherited from M54: as a note and as a rule.
    [note] = [p for p in properties(body, "excludes1") if p["value"] == "psychogenic dorsalgia (F45.41)"]
    assert note["subproperties"]["level"] == ["ancestor"] and note["subproperties"]["source"] == ["M54"]
    [rule] = [r for r in rules(body, "excludes1") if r["subproperties"]["source"] == ["M54"]]
    assert rule["subproperties"]["code"] == ["F45.41"] and "I.A.12.a" in rule["subproperties"]["basis"][0]
    more_specific = values(body, "moreSpecific")
    assert {"M54.2", "M54.6", "M54.50", "M54.51", "M54.59", "M54.89"} <= set(more_specific)
    assert all(p["subproperties"]["when"] for p in properties(body, "moreSpecific"))
    [chronic] = [p for p in properties(body, "additionalCode") if p["value"] == "G89.29"]
    assert "chronic" in chronic["subproperties"]["when"][0].lower()
    assert not properties(body, "sevenChrDef") and not rules(body, "seventh-character")
    assert any("7th character" in q for q in values(body, "faq"))
    assert len(values(body, "faq")) >= 7
    assert values(body, "summary") and values(body, "documentation") and values(body, "pitfall")
    assert values(body, "verified") == [str(read_all(lambda code: True)["M54.9"]["verified"])]
    assert all(p["subproperties"].get("url") for p in properties(body, "source"))


def test_m53_9_carries_the_seed_facts(client):
    body = lookup(client, "M53.9")
    more_specific = set(values(body, "moreSpecific"))
    assert {"M53.3", *(f"M53.8{d}" for d in range(1, 9))} <= more_specific
    answers = " ".join(p["subproperties"]["answer"][0] for p in properties(body, "faq"))
    assert "M54.9" in answers
    assert len(values(body, "faq")) >= 7
    # The M50-M54 block: current injuries take S codes by body region; discitis goes to M46.4-.
    [block_rule] = [r for r in rules(body, "excludes1") if r["subproperties"]["source"] == ["M50-M54"]]
    assert block_rule["subproperties"]["level"] == ["block"] and "M46.4-" in block_rule["subproperties"]["code"]
    text = " ".join(values(body, "pitfall") + values(body, "clinicalContext"))
    assert "M46.4" in text and "S" in text and "injur" in text.lower()


def test_every_billable_m53_m54_code_has_editorial_guidance(store_dir):
    release = next(store_dir.glob("icd10cm-*.sqlite"))
    with sqlite3.connect(release) as db:
        billable = {
            c
            for (c,) in db.execute(
                "SELECT code FROM concept WHERE billable = 1 AND (code LIKE 'M53%' OR code LIKE 'M54%')"
            )
        }
    assert len(billable) == 55
    records = read_all(lambda code: True)
    assert billable <= set(records)
    for code in billable:
        record = records[code]
        assert record["summary"] and record["documentation"] and record["pitfalls"] and record["sources"], code
        assert record["verified"], code


# ---------------------------------------------------------------------------------- rule-derived


def test_unspecified_code_points_to_more_specific_siblings(client):
    body = lookup(client, "M54.30", guidance="rules")
    [unspecified] = rules(body, "unspecified")
    assert {"M54.31", "M54.32"} <= set(unspecified["subproperties"]["code"])
    [laterality] = rules(body, "laterality")
    assert laterality["subproperties"]["code"] == ["M54.31", "M54.32"]
    assert not values(body, "summary")  # rules only: no editorial entries


def test_header_and_seventh_character_rules(client):
    header = lookup(client, "M54.5", guidance="rules")
    [rule] = rules(header, "header")
    assert rule["subproperties"]["code"] == ["M54.50", "M54.51", "M54.59"]
    needs_seventh = lookup(client, "S06.1X7", guidance="rules")
    [rule] = rules(needs_seventh, "seventh-character")
    assert rule["subproperties"]["code"] == ["S06.1X7A"]  # the S06 exception: A only
    generated = lookup(client, "S52.501B", guidance="rules")
    [rule] = rules(generated, "seventh-character")
    assert "initial encounter for open fracture type I or II" in rule["value"]
    assert rules(generated, "placeholder") == [] and rules(lookup(client, "T07.XXXA", guidance="rules"), "placeholder")


def test_manifestation_code(client):
    body = lookup(client, "G01", guidance="rules")
    assert rules(body, "manifestation") and rules(body, "code-first")


def _validation_issues(client, path: str, **params) -> list[tuple[str, str]]:
    response = client.get(path, query_string={"code": params.pop("code"), **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    outcome = param(body, "issues")
    return [(i["severity"], i["details"]["text"]) for i in (outcome or {}).get("issue", [])]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("D63.0", "manifestation code"),
        ("M49.80", "manifestation code"),
        ("V43.52XA", "external cause code"),
        ("T38.3X6A", "underdosing"),
        ("T45.515A", "adverse effect"),
        ("Z68.41", "associated reportable diagnosis"),
        ("Z37.0", "additional code only"),
    ],
)
def test_a_code_never_first_listed_is_a_warning_in_both_validations(client, code, words):
    """firstListed = never: the same warning from CodeSystem/$validate-code and ValueSet/$validate-code."""
    in_system = _validation_issues(client, "/fhir/CodeSystem/$validate-code", url=ICD10CM, code=code)
    in_value_set = _validation_issues(
        client, "/fhir/ValueSet/$validate-code", url=f"{ICD10CM}?fhir_vs", system=ICD10CM, code=code
    )
    warnings = [text for severity, text in in_system if severity == "warning" and words in text]
    assert warnings, in_system
    assert in_system == in_value_set
    body = lookup(client, code, guidance="rules")
    assert [p["value"] for p in properties(body) if p["code"] == "firstListed"] == ["never"]


@pytest.mark.parametrize(
    ("code", "section", "words"),
    [
        ("Z51.11", "I.C.21.c.16", "may only be the principal or first-listed"),
        ("O80", "I.C.15.n.1", "always the principal or first-listed"),
    ],
)
def test_a_code_only_first_listed_says_so(client, code, section, words):
    body = lookup(client, code, guidance="rules")
    [placed] = [p for p in properties(body) if p["code"] == "firstListed"]
    assert placed["value"] == "only" and section in placed["subproperties"]["basis"][0]
    issues = _validation_issues(client, "/fhir/CodeSystem/$validate-code", url=ICD10CM, code=code)
    assert [s for s, t in issues if words in t] == ["information"]


def test_guidance_modes_and_property_selection(client):
    everything = lookup(client, "M54.9")
    rules_only = lookup(client, "M54.9", guidance="rules")
    nothing = lookup(client, "M54.9", guidance="none")
    assert values(everything, "summary") and not values(rules_only, "summary") and rules(rules_only)
    assert not rules(nothing) and not values(nothing, "sibling")
    assert not [p for p in nothing["parameter"] if p["name"] == "guidance"]
    selected = lookup(client, "M54.9", property="summary")
    assert {p["code"] for p in properties(selected)} == {"summary"}
    response = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "M54.9", "guidance": "most"})
    assert response.status_code == 400


def test_extension_carries_the_same_guidance(client):
    body = lookup(client, "M54.9")
    guidance_codes = {p["code"] for p in properties(body)} & {
        "summary",
        "moreSpecific",
        "rule",
        "faq",
        "source",
        "sibling",
    }
    items = extension_items(body)
    assert {i["url"] for i in items} >= guidance_codes
    [summary] = [i for i in items if i["url"] == "summary"]
    assert summary["valueString"] == values(body, "summary")[0]


# ----------------------------------------------------------------------------------- validate-code


def test_validate_reports_guidance_findings(client):
    unspecified = validate(client, "M54.30")
    issues = param(unspecified, "issues")["issue"]
    assert param(unspecified, "result") is True
    assert any(i["severity"] == "information" and "M54.31" in i["details"]["text"] for i in issues)
    assert extension_items(unspecified)
    missing_seventh = validate(client, "S52.501")
    assert param(missing_seventh, "result") is False
    [issue] = [i for i in param(missing_seventh, "issues")["issue"] if i["severity"] == "error"]
    assert (
        "7th character" in issue["details"]["text"]
        and "A (initial encounter for closed fracture)" in issue["details"]["text"]
    )
    manifestation = validate(client, "G01")
    assert any(
        i["severity"] == "warning" and "manifestation" in i["details"]["text"]
        for i in param(manifestation, "issues")["issue"]
    )
    quiet = validate(client, "M54.30", guidance="none")
    assert param(quiet, "issues") is None


# ----------------------------------------------------------------------------- published resources


def test_supplement_and_structure_definition(client):
    supplement = client.get("/fhir/CodeSystem/icd10cm-guidance").get_json()
    assert_fhir(supplement, "CodeSystem")
    assert supplement["content"] == "supplement" and supplement["supplements"] == ICD10CM
    assert {"summary", "rule", "moreSpecific", "faq", "source", "verified"} <= {
        p["code"] for p in supplement["property"]
    }
    # One concept per editorial file (a category's file is one concept; the codes below it inherit it).
    assert len(supplement["concept"]) == len(list(GUIDANCE_DIR.glob("*.toml")))
    definition = client.get("/fhir/StructureDefinition/icd10cm-guidance").get_json()
    assert_fhir(definition, "StructureDefinition")
    assert definition["url"] == GUIDANCE_EXTENSION and definition["type"] == "Extension"
    assert client.get("/fhir/StructureDefinition/nope").status_code == 404


# ------------------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    "content, field",
    [
        (
            'code = "M54.9"\nsummary = "x"\nverified = 2026-11-21\ndocumentation = []\npitfalls = ["p"]\n'
            'sources = [{title = "t"}]\n',
            "documentation",
        ),
        (
            'code = "M54.9"\nsummary = "x"\nverified = "soon"\ndocumentation = ["d"]\npitfalls = ["p"]\n'
            'sources = [{title = "t"}]\n',
            "verified",
        ),
        (
            'code = "M54.9"\nsummary = "x"\nverified = 2026-11-21\ndocumentation = ["d"]\npitfalls = ["p"]\n'
            'sources = [{title = "t", url = "not a url"}]\n',
            "sources.0.url",
        ),
        (
            'code = "M54.9"\nsummary = "x"\nverified = 2026-11-21\ndocumentation = ["d"]\npitfalls = ["p"]\n'
            'sources = [{title = "t"}]\nprocedures = ["Physical therapy evaluation"]\n',
            "procedures",
        ),
        ('code = "M54.9"\nsummery = "typo"\n', "summary"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_a_bad_file_stops_the_load_naming_file_and_field(tmp_path, content, field):
    (tmp_path / "M54.9.toml").write_text(content)
    with pytest.raises(LoadError) as raised:
        read_all(lambda code: code != "M54.99", tmp_path)
    assert "M54.9.toml" in raised.value.message and field in raised.value.message


def test_the_shipped_files_all_validate():
    assert len(read_all(lambda code: True, GUIDANCE_DIR)) >= 55


def test_the_shipped_files_all_apply_to_the_default_release(engine):
    release = engine.releases.default
    assert set(read_all(lambda code: release.concept(code) is not None, GUIDANCE_DIR)) == set(
        read_all(lambda code: True, GUIDANCE_DIR)
    )
