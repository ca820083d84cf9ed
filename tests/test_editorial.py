"""Editorial guidance files: what ``verified`` was checked against, and a source behind every section."""

from __future__ import annotations

import re
import tomllib

import pytest
from helpers import ICD10CM, properties

from service.errors import LoadError
from service.icd10cm.guidance.editorial import GUIDANCE_DIR, SECTIONS, read_all, read_file
from service.icd10cm.guidance.fhir import GUIDANCE_EXTENSION, PROPERTIES, editorial_entries

LOOKUP = "/fhir/CodeSystem/$lookup"

VALID = """code = "M54.9"
summary = "s"
verified = 2026-12-03
verified_against = { release = "2026-04", guidelines = "FY2026" }
documentation = ["d"]
pitfalls = ["p"]
faq = [{ question = "q", answer = "a" }]
sources = [
  { title = "tabular", sections = ["summary", "documentation", "pitfalls"] },
  { title = "guidelines", url = "https://example.org/g", sections = ["faq"] },
  { title = "a general reference" },
]
"""


def write(tmp_path, text: str, name: str = "M54.9.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def refusal(tmp_path, text: str) -> str:
    with pytest.raises(LoadError) as raised:
        read_file(write(tmp_path, text), lambda code: True)
    return raised.value.message


# ----------------------------------------------------------------------------------------- the format


def test_a_valid_file_loads_with_what_it_was_verified_against(tmp_path):
    record = read_file(write(tmp_path, VALID), lambda code: True)
    assert record["verified"] == "2026-12-03"
    assert record["verified_against"] == {"release": "2026-04", "guidelines": "FY2026"}
    assert record["sources"][0]["sections"] == ["summary", "documentation", "pitfalls"]
    assert "sections" not in record["sources"][2]


def test_a_file_without_verified_against_is_refused_naming_file_and_field(tmp_path):
    message = refusal(
        tmp_path, VALID.replace('verified_against = { release = "2026-04", guidelines = "FY2026" }\n', "")
    )
    assert "M54.9.toml" in message and "verified_against" in message


@pytest.mark.parametrize(
    "against, field",
    [
        ('{ release = "2026-04" }', "verified_against.guidelines"),
        ('{ release = "April 2026", guidelines = "FY2026" }', "verified_against.release"),
        ('{ release = "2026-04", guidelines = "2026" }', "verified_against.guidelines"),
        ('{ release = "2026-04", guidelines = "FY2026", by = "me" }', "verified_against.by"),
    ],
)
def test_a_malformed_verified_against_is_refused(tmp_path, against, field):
    message = refusal(tmp_path, VALID.replace('{ release = "2026-04", guidelines = "FY2026" }', against))
    assert "M54.9.toml" in message and field in message


@pytest.mark.parametrize(
    "old, new, uncovered",
    [
        ('sections = ["faq"]', 'sections = ["summary"]', "faq"),  # the FAQ has no source
        ('sections = ["summary", "documentation", "pitfalls"]', 'sections = ["summary"]', "documentation, pitfalls"),
        ('pitfalls = ["p"]\n', 'pitfalls = ["p"]\nscribe = "capture this"\n', "scribe"),  # a new section, unbacked
    ],
)
def test_a_section_no_source_names_is_refused_naming_file_and_field(tmp_path, old, new, uncovered):
    message = refusal(tmp_path, VALID.replace(old, new))
    assert "M54.9.toml" in message and "sources" in message and uncovered in message


def test_a_source_without_sections_backs_no_section(tmp_path):
    text = VALID.replace(', sections = ["summary", "documentation", "pitfalls"]', "").replace(
        ', sections = ["faq"]', ""
    )
    message = refusal(tmp_path, text)
    assert "summary, documentation, pitfalls, faq" in message


def test_a_section_name_must_be_a_section(tmp_path):
    message = refusal(tmp_path, VALID.replace('sections = ["faq"]', 'sections = ["faq", "procedures"]'))
    assert "M54.9.toml" in message and "sources.1.sections" in message


def test_a_refusal_names_every_failing_field(tmp_path):
    text = VALID.replace("verified = 2026-12-03\n", 'verified = "soon"\n').replace(
        'sections = ["faq"]', "sections = []"
    )
    message = refusal(tmp_path, text)
    assert "verified:" in message and "sources.1.sections" in message and "faq" in message


def test_a_file_verified_against_another_release_still_loads(tmp_path):
    record = read_all(lambda code: True, _folder(tmp_path, VALID.replace('release = "2026-04"', 'release = "2025"')))
    assert record["M54.9"]["verified_against"]["release"] == "2025"
    [verified] = [e for e in editorial_entries(record["M54.9"]) if e["part"][0]["valueCode"] == "verified"]
    assert {p["part"][1]["valueString"] for p in verified["part"] if p["name"] == "subproperty"} == {"2025", "FY2026"}


def _folder(tmp_path, text: str):
    folder = tmp_path / "guidance"
    folder.mkdir()
    write(folder, text)
    return folder


def test_the_shipped_files_name_release_guidelines_and_a_source_per_section():
    for path in sorted(GUIDANCE_DIR.glob("*.toml")):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        assert raw["verified_against"] == {"release": "2026-04", "guidelines": "FY2026"}, path.name
        covered = {s for source in raw["sources"] for s in source.get("sections", ())}
        assert {s for s in SECTIONS if raw.get(s)} <= covered, path.name
    assert len(read_all(lambda code: True)) >= 55


# ------------------------------------------------------------------------------------------- in FHIR


def test_verified_declares_release_and_guidelines():
    kind, subproperties, _ = PROPERTIES["verified"]
    assert kind == "dateTime" and dict(subproperties) == {"release": "string", "guidelines": "string"}


def test_lookup_shows_what_verified_was_checked_against(client):
    response = client.get(LOOKUP, query_string={"system": ICD10CM, "code": "M54.9"})
    assert response.status_code == 200, response.data
    body = response.get_json()
    [verified] = properties(body, "verified")
    assert verified["value"] == "2026-12-03"
    assert verified["subproperties"] == {"release": ["2026-04"], "guidelines": ["FY2026"]}
    # The guidance extension carries the same item, its subproperties nested.
    [guidance] = [p for p in body["parameter"] if p["name"] == "guidance"]
    [extension] = guidance["extension"]
    assert extension["url"] == GUIDANCE_EXTENSION
    [item] = [i for i in extension["extension"] if i["url"] == "verified"]
    assert {e["url"]: next(v for k, v in e.items() if k != "url") for e in item["extension"]} == {
        "value": "2026-12-03",
        "release": "2026-04",
        "guidelines": "FY2026",
    }


def test_the_supplement_and_the_extension_definition_declare_the_subproperties(client):
    supplement = client.get("/fhir/CodeSystem/icd10cm-guidance").get_json()
    [verified] = [p for p in supplement["property"] if p["code"] == "verified"]
    assert "release" in verified["description"] and "guidelines" in verified["description"]
    definition = client.get("/fhir/StructureDefinition/icd10cm-guidance").get_json()
    ids = {e["id"] for e in definition["differential"]["element"]}
    assert {
        "Extension.extension:verified.extension:release",
        "Extension.extension:verified.extension:guidelines",
    } <= ids


def test_a_file_citing_a_code_the_release_lacks_is_left_out_of_that_release(tmp_path, caplog):
    """An older release (loaded for its history) lacks codes that a file verified against a newer one cites:
    the file is left out of that release, with a log line, and the load goes on."""
    text = VALID.replace('sections = ["faq"]', 'sections = ["faq", "more_specific"]') + (
        'more_specific = [{ code = "M54.99", when = "w" }]\n'
    )
    folder = tmp_path / "g"
    folder.mkdir()
    write(folder, text)
    assert set(read_all(lambda code: True, folder)) == {"M54.9"}
    with caplog.at_level("INFO"):
        assert read_all(lambda code: code != "M54.99", folder) == {}
    assert "M54.9.toml" in caplog.text and "M54.99" in caplog.text


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


_MENTION = re.compile(
    r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.?-)?(?:-([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?))?"
)


def test_every_code_a_shipped_file_mentions_exists_and_more_specific_codes_are_billable_and_below(engine):
    """Every code a header's file names in its text (E11.22, E11.-, a range such as E08-E13) is a code of the
    default release; every more specific code is billable, and below the code of a header's file."""
    release = engine.releases.resolve(None, None)
    problems = []
    for path in sorted(GUIDANCE_DIR.glob("*.toml")):
        raw = tomllib.loads(path.read_text())
        raw.pop("sources", None)  # titles of publications, not codes
        header = not release.concept(raw["code"]).billable
        # The text of a header's file (the code fields of every file are checked at load); a code's own file
        # may quote a code that does not exist to warn against it ('M53.21' does not exist) or name a vertebra.
        for text in _strings(raw) if header else ():
            for first, last in _MENTION.findall(text):
                for code in filter(None, (first, last)):
                    if release.concept(code) is None:
                        problems.append(f"{path.name}: {code} ({text[:60]}...)")
        # A file for a header (a category, a subcategory) refines it: its more specific codes are below it. A
        # billable code's file may also name alternatives (M54.2 instead of M53.0).
        for entry in raw.get("more_specific", ()):
            concept = release.concept(entry["code"])
            below = entry["code"].startswith(raw["code"]) and entry["code"] != raw["code"]
            if not (concept and concept.billable and (below or not header)):
                problems.append(
                    f"{path.name}: more_specific {entry['code']} is not a billable code below {raw['code']}"
                )
    assert not problems, problems
