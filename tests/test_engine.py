"""The terminology engine without Flask: $lookup and $validate-code semantics."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from helpers import ICD10CM, ICD10CM_OID, assert_fhir, inclusion_designations, properties

from service.errors import InvalidRequest, NotFound, StoreError
from service.icd10cm.codes import normalize_code, placeholder_candidates
from service.icd10cm.model import CodeableConcept, Coding
from service.icd10cm.operations import Icd10cm
from service.icd10cm.releases import Releases, UnknownVersion
from service.icd10cm.render import LookupAnswer
from service.icd10cm.store.reader import open_store


class Looked:
    """A lookup result with its FHIR Parameters rendering (the engine's output, as a client sees it)."""

    def __init__(self, result):
        self.result = result
        self.code, self.display, self.version = result.code, result.display, result.version
        self.normalized_from = result.normalized_from
        rendered = LookupAnswer(result).json()
        self.body = orjson.loads(rendered) if isinstance(rendered, (bytes, str)) else rendered
        assert_fhir(self.body, "Parameters")
        self.properties = properties(self.body)
        self.designations = inclusion_designations(self.body)


def look(engine, code, system=ICD10CM, **options) -> Looked:
    options.setdefault("guidance", "none")  # these tests are about the tabular content
    return Looked(engine.lookup(system, code, **options))


def validate_code(engine, *args, **options):
    options.setdefault("guidance", "none")  # these tests are about validity, not guidance
    return engine.validate_code(*args, **options)


def props(looked, code=None):
    return [p for p in looked.properties if code is None or p["code"] == code]


def one(looked, code):
    found = props(looked, code)
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------------------------------ $lookup


def test_lookup_m54_9(engine):
    result = look(engine, "M54.9")
    assert (result.code, result.display, result.version) == ("M54.9", "Dorsalgia, unspecified", "2026-04")
    assert result.normalized_from is None
    assert result.designations == ["Backache NOS", "Back pain NOS"]

    parent = one(result, "parent")
    assert (parent["value"], parent["description"]) == ("M54", "Dorsalgia")
    assert one(result, "notSelectable")["value"] is False
    assert one(result, "billable")["value"] is True
    assert props(result, "child") == []
    chapter = one(result, "chapter")
    assert chapter["value"] == "13"
    assert chapter["description"] == "Diseases of the musculoskeletal system and connective tissue (M00-M99)"
    assert [(b["value"], b["description"]) for b in props(result, "block")] == [
        ("M50-M54", "Other dorsopathies (M50-M54)"),
        ("M40-M54", "Dorsopathies (M40-M54)"),
    ]


def test_lookup_notes_say_where_they_come_from(engine):
    result = look(engine, "M54.9")
    excludes1 = props(result, "excludes1")
    by_text = {e["value"]: e["subproperties"] for e in excludes1}
    assert by_text["psychogenic dorsalgia (F45.41)"] == {
        "level": ["ancestor"],
        "source": ["M54"],
        "reference": ["F45.41"],
    }
    assert by_text["discitis NOS (M46.4-)"] == {"level": ["block"], "source": ["M50-M54"], "reference": ["M46.4-"]}
    assert by_text["current injury - see injury of spine by body region"] == {"level": ["block"], "source": ["M50-M54"]}
    # Nearest first: the category's note before the block's.
    assert [e["value"] for e in excludes1][0] == "psychogenic dorsalgia (F45.41)"

    chapter_notes = [e for e in props(result) if e["subproperties"].get("level") == ["chapter"]]
    assert chapter_notes, "no chapter-level notes"
    assert all(e["subproperties"]["source"] == ["13"] for e in chapter_notes)
    assert "neoplasms (C00-D49)" in [e["value"] for e in chapter_notes if e["code"] == "excludes2"]
    assert any(e["code"] == "note" and e["value"].startswith("Use an external cause code") for e in chapter_notes)

    inclusion = props(result, "inclusionTerm")
    assert [(e["value"], e["subproperties"]) for e in inclusion] == [
        ("Backache NOS", {"level": ["code"], "source": ["M54.9"]}),
        ("Back pain NOS", {"level": ["code"], "source": ["M54.9"]}),
    ]
    # Levels come nearest first: code, ancestor, block, chapter.
    order = {"code": 0, "ancestor": 1, "block": 2, "chapter": 3}
    levels = [order[e["subproperties"]["level"][0]] for e in props(result) if "level" in e["subproperties"]]
    assert levels == sorted(levels)


def test_inclusion_terms_belong_to_their_own_code_only(engine):
    # A92.3 (West Nile virus infection) has the inclusion term "West Nile fever"; A92.30 must not inherit it.
    parent = look(engine, "A92.3")
    assert parent.designations == ["West Nile fever"]
    assert [e["value"] for e in props(parent, "inclusionTerm")] == ["West Nile fever"]
    child = look(engine, "A92.30")
    assert "West Nile fever" not in child.designations
    assert "West Nile fever" not in [e["value"] for e in props(child)]
    m54_50 = look(engine, "M54.50")
    assert m54_50.designations == ["Loin pain", "Lumbago NOS"]
    assert all(e["subproperties"]["level"] == ["code"] for e in props(m54_50, "inclusionTerm"))


@pytest.mark.parametrize("sent", ["m549", "M549", " M54.9 ", "m54.9"])
def test_lookup_normalizes_what_people_send(engine, sent):
    result = look(engine, sent)
    assert result.code == "M54.9"
    assert result.display == "Dorsalgia, unspecified"
    assert result.normalized_from == sent


def test_lookup_header_lists_children(engine):
    result = look(engine, "M54.5")
    assert [(c["value"], c["description"]) for c in props(result, "child")] == [
        ("M54.50", "Low back pain, unspecified"),
        ("M54.51", "Vertebrogenic low back pain"),
        ("M54.59", "Other low back pain"),
    ]
    assert one(result, "notSelectable")["value"] is True
    assert one(result, "billable")["value"] is False


def test_lookup_category_has_no_parent(engine):
    result = look(engine, "M54")
    assert props(result, "parent") == []
    assert [c["value"] for c in props(result, "child")][:2] == ["M54.0", "M54.1"]


@pytest.mark.parametrize(
    "wanted, codes",
    [
        (["parent"], {"parent"}),
        (["billable", "chapter"], {"billable", "chapter"}),
        (["excludes1"], {"excludes1"}),
        (["inclusionTerm"], {"inclusionTerm"}),
        (["nonsense"], set()),
    ],
)
def test_lookup_property_filter(engine, wanted, codes):
    result = look(engine, "M54.9", properties=wanted)
    assert {p["code"] for p in props(result)} == codes
    # Designations (display and inclusion terms) are not properties: always returned.
    assert result.designations == ["Backache NOS", "Back pain NOS"]


def test_lookup_star_is_everything(engine):
    every = look(engine, "M54.9")
    star = look(engine, "M54.9", properties=["*"])
    assert star.properties == every.properties
    assert look(engine, "M54.9", properties=["*", "parent"]).properties == every.properties


def test_excludes1_filter_keeps_every_level(engine):
    result = look(engine, "M54.9", properties=["excludes1"])
    assert [(e["subproperties"]["level"][0], e["subproperties"]["source"][0]) for e in props(result)] == [
        ("ancestor", "M54"),
        ("block", "M50-M54"),
        ("block", "M50-M54"),
    ]


# ------------------------------------------------------------------------------ 7th characters

S52_CHARS = list("ABCDEFGHJKMNPQRS")


def test_header_needing_a_7th_character_lists_the_whole_table(engine):
    result = look(engine, "S52.501")
    defs = props(result, "sevenChrDef")
    assert [d["value"] for d in defs] == S52_CHARS
    assert all(d["subproperties"]["level"] == ["ancestor"] and d["subproperties"]["source"] == ["S52"] for d in defs)
    assert defs[0]["description"] == "initial encounter for closed fracture"
    assert defs[2]["description"] == "initial encounter for open fracture type IIIA, IIIB, or IIIC"
    assert [c["value"] for c in props(result, "child")] == [f"S52.501{c}" for c in S52_CHARS]
    assert [n["value"] for n in props(result, "sevenChrNote")] == [
        "The appropriate 7th character is to be added to all codes from category S52"
    ]


def test_generated_code_lists_only_its_own_character(engine):
    result = look(engine, "S52.501B")
    assert (
        result.display
        == "Unspecified fracture of the lower end of right radius, initial encounter for open fracture type I or II"
    )
    [b] = props(result, "sevenChrDef")
    assert b["value"] == "B"
    assert b["description"] == "initial encounter for open fracture type I or II"
    assert b["subproperties"] == {
        "level": ["ancestor"],
        "source": ["S52"],
        "inclusionTerm": ["initial encounter for open fracture NOS"],
    }
    assert one(result, "parent")["value"] == "S52.501"
    assert one(result, "billable")["value"] is True


def test_nearest_definition_overrides(engine):
    result = look(engine, "S52.011")
    assert [d["value"] for d in props(result, "sevenChrDef")] == list("ADGKPS")
    assert {d["subproperties"]["source"][0] for d in props(result, "sevenChrDef")} == {"S52.01"}
    assert [n["value"] for n in props(result, "sevenChrNote")] == [
        "The appropriate 7th character is to be added to all codes in subcategory S52.01"
    ]
    generated = look(engine, "S52.011P")
    [p] = props(generated, "sevenChrDef")
    assert (p["value"], p["description"]) == ("P", "subsequent encounter for fracture with malunion")


def test_s06_death_codes_take_only_a(engine):
    result = look(engine, "S06.1X7")
    assert [d["value"] for d in props(result, "sevenChrDef")] == ["A"]
    assert [c["value"] for c in props(result, "child")] == ["S06.1X7A"]
    other = look(engine, "S06.0X1")
    assert [d["value"] for d in props(other, "sevenChrDef")] == ["A", "D", "S"]
    with pytest.raises(NotFound):
        look(engine, "S06.1X7D")


def test_t07_category_codes(engine):
    result = look(engine, "T07")
    assert [c["value"] for c in props(result, "child")] == ["T07.XXXA", "T07.XXXD", "T07.XXXS"]
    assert look(engine, "t07xxxa").code == "T07.XXXA"


def test_seventh_character_filter(engine):
    # (The first version answered 500 here: a sevenChrNote reached the sevenChrDef branch, KeyError 'char'.)
    result = look(engine, "S52.501", properties=["sevenChrDef"])
    assert {p["code"] for p in props(result)} == {"sevenChrDef"}
    assert len(props(result)) == 16
    result = look(engine, "S52.501", properties=["sevenChrNote"])
    assert {p["code"] for p in props(result)} == {"sevenChrNote"}


def test_lookup_agrees_with_the_tabular_on_a_sample(engine, tabular):
    """Every 250th code of the release (about 400, all kinds), rendered and checked against the parse."""
    codes = list(tabular.codes.values())
    for code in codes[::250] + [tabular.codes[c] for c in ("T07.XXXS", "S06.1X8A", "C44.1192", "U07.1")]:
        looked = look(engine, code.code)
        assert looked.display == code.display, code.code
        assert [p["value"] for p in props(looked, "parent")] == ([code.parent] if code.parent else []), code.code
        assert [p["value"] for p in props(looked, "child")] == code.children, code.code
        assert one(looked, "billable")["value"] is code.billable, code.code
        assert one(looked, "notSelectable")["value"] is (not code.billable), code.code
        assert one(looked, "chapter")["value"] == code.chapter, code.code
        assert [p["value"] for p in props(looked, "block")] == code.blocks, code.code
        own_terms = [n.text for n in code.notes if n.type == "inclusionTerm"]
        assert looked.designations == own_terms, code.code
        sevens = [p["value"] for p in props(looked, "sevenChrDef")]
        if code.seventh is not None:
            assert sevens == list(code.seventh), code.code
        result = validate(engine, code.code)
        # A code that still needs its 7th character is incomplete (guideline I.A.5); other headers
        # are codes of the system, with a warning.
        assert result.result is not (code.seventh is not None and not code.billable), code.code
        assert bool(result.issues) is (not code.billable), code.code


# ------------------------------------------------------------------------------- $lookup errors


@pytest.mark.parametrize(
    "system, code, error, expression",
    [
        (ICD10CM, "", InvalidRequest, "code"),
        (ICD10CM, "   ", InvalidRequest, "code"),
        (ICD10CM, None, InvalidRequest, "code"),
        (None, "M54.9", InvalidRequest, "system"),
        ("http://snomed.info/sct", "M54.9", NotFound, "system"),
        ("http://hl7.org/fhir/sid/icd-10", "M54.9", NotFound, "system"),
        (ICD10CM, "M54.99", NotFound, "code"),
        (ICD10CM, "S06.1X7S", NotFound, "code"),
    ],
)
def test_lookup_errors(engine, system, code, error, expression):
    with pytest.raises(error) as raised:
        engine.lookup(system, code)
    assert raised.value.expression == expression


def test_lookup_unknown_code_names_code_and_version(engine):
    with pytest.raises(NotFound) as raised:
        look(engine, "Q99.99")
    assert "Q99.99" in raised.value.message and "2026-04" in raised.value.message
    assert raised.value.tx_code == "invalid-code"


def test_lookup_with_oid_system(engine):
    assert look(engine, "M54.9", system=ICD10CM_OID).display == "Dorsalgia, unspecified"
    assert look(engine, "M54.9", system=f" {ICD10CM} ").code == "M54.9"


def test_lookup_versions(engine):
    assert look(engine, "M54.9", version="2026-04").version == "2026-04"
    with pytest.raises(NotFound) as raised:
        look(engine, "M54.9", version="2019")
    assert "2019" in raised.value.message and "2026-04" in raised.value.message


# ----------------------------------------------------------------------------------- $validate-code


def validate(engine, code, display=None, version=None, system=ICD10CM, **options):
    return validate_code(engine, Coding(system, code, version, display), **options)


def test_validate_billable_code(engine):
    result = validate(engine, "M54.9", display="Dorsalgia, unspecified")
    assert result.result is True
    assert (result.display, result.version, result.system) == ("Dorsalgia, unspecified", "2026-04", ICD10CM)
    assert result.issues == []
    assert result.message is None


def test_validate_header_is_valid_with_a_warning(engine):
    result = validate(engine, "M54.5")
    assert result.result is True
    [warning] = result.issues
    assert warning.severity == "warning" and warning.tx_code == "code-rule"
    assert "M54.50, M54.51, M54.59" in warning.text
    assert "header" in warning.text
    assert result.message == warning.text


def test_validate_header_is_invalid_when_abstract_is_false(engine):
    result = validate(engine, "M54.5", abstract=False)
    assert result.result is False
    [error] = result.issues
    assert error.severity == "error" and error.code == "business-rule"
    assert "M54.50, M54.51, M54.59" in error.text
    assert validate(engine, "M54.5", abstract=True).result is True
    assert validate(engine, "M54.9", abstract=False).result is True


def test_validate_header_with_many_children_is_abbreviated(engine):
    [warning] = validate(engine, "M54").issues
    assert warning.text.endswith("M54.0, M54.1, M54.2, M54.3, M54.4, M54.5, M54.6, M54.8, M54.9")
    [warning] = validate(engine, "Y93").issues  # 22 children: the first 12 are listed
    listed = warning.text.split("below it: ")[1]
    assert listed.endswith(", ...")
    assert listed.split(", ") == [f"Y93.{c}" for c in "01234567ABCD"] + ["..."]


def test_validate_header_needing_a_7th_character_explains_the_characters(engine):
    result = validate(engine, "T07")
    [warning] = result.issues
    assert "A (initial encounter), D (subsequent encounter), S (sequela)" in warning.text
    assert "A (initial encounter)" in validate(engine, "S06.1X7").issues[0].text
    assert "D (" not in validate(engine, "S06.1X7").issues[0].text


def test_validate_7th_character_advice_keeps_meanings_with_commas(engine):
    # (The first version cut the meaning at its last comma: "C (or IIIC)".)
    text = validate(engine, "S52.501").issues[0].text
    assert "C (initial encounter for open fracture type IIIA, IIIB, or IIIC)" in text
    assert "(or IIIC" not in text


def test_validate_wrong_display(engine):
    result = validate(engine, "M54.9", display="Back pain")
    assert result.result is False
    [issue] = result.issues
    assert (issue.severity, issue.code, issue.tx_code, issue.expression) == (
        "error",
        "invalid",
        "invalid-display",
        "display",
    )
    assert "'Dorsalgia, unspecified'" in issue.text and "'Back pain'" in issue.text
    assert result.display == "Dorsalgia, unspecified"
    assert result.message == issue.text


def test_validate_display_whitespace_is_forgiven(engine):
    assert validate(engine, "M54.9", display="Dorsalgia,   unspecified ").result is True


def test_validate_unknown_code_suggests_the_placeholder_form(engine):
    result = validate(engine, "T45.01A")
    assert result.result is False
    error, info = result.issues
    assert (error.severity, error.tx_code) == ("error", "invalid-code")
    assert "T45.01A" in error.text
    assert (info.severity, info.tx_code) == ("information", "code-comment")
    assert "T45.0X1A" in info.text
    assert result.message == error.text
    assert "T07.XXXA" in validate(engine, "T07A").issues[1].text


def test_validate_unknown_code_without_suggestion(engine):
    result = validate(engine, "M54.99")
    assert result.result is False
    assert [i.tx_code for i in result.issues] == ["invalid-code", "code-comment"]
    # With one release loaded, whether the code was one of another release is unknown: how to find out.
    assert "only release loaded here" in result.issues[1].text and "load --packaged" in result.issues[1].text
    assert [i.tx_code for i in validate(engine, "not a code").issues] == ["invalid-code"]


@pytest.mark.parametrize(
    "sent, expected", [("m549", "M54.9"), ("M549", "M54.9"), ("s52501b", "S52.501B"), (" M54.9", "M54.9")]
)
def test_validate_normalized_code_is_valid_with_a_warning(engine, sent, expected):
    result = validate(engine, sent)
    assert result.result is True
    assert result.code == sent
    assert result.normalized_code == expected
    assert [i.tx_code for i in result.issues] == ["code-rule"]
    assert result.issues[0].severity == "warning"


def test_validate_unknown_system(engine):
    result = validate(engine, "M54.9", system="http://snomed.info/sct")
    assert result.result is False
    assert result.unknown_systems == ["http://snomed.info/sct"]
    [issue] = result.issues
    assert (issue.severity, issue.tx_code, issue.expression) == ("error", "not-found", "system")


def test_validate_unknown_version(engine):
    result = validate(engine, "M54.9", version="2019")
    assert result.result is False
    assert result.unknown_systems == [f"{ICD10CM}|2019"]
    [issue] = result.issues
    assert issue.expression == "version" and "2026-04" in issue.text


def test_validate_oid_system(engine):
    result = validate(engine, "M54.9", system=ICD10CM_OID)
    assert result.result is True
    assert result.system == ICD10CM


def test_validate_no_code(engine):
    result = validate(engine, "")
    assert result.result is False
    assert result.issues[0].tx_code == "invalid-code"
    with pytest.raises(InvalidRequest):
        validate_code(
            engine,
        )


def test_validate_coding_paths(engine):
    result = validate_code(engine, Coding(ICD10CM, "M54.99"), from_coding=True)
    assert result.issues[0].expression == "Coding.code"


def test_validate_codeable_concept_one_valid_coding_is_enough(engine):
    result = validate_code(
        engine,
        codeable_concept=CodeableConcept([Coding("http://snomed.info/sct", "279039007"), Coding(ICD10CM, "M54.9")]),
    )
    assert result.result is True
    assert result.code == "M54.9" and result.display == "Dorsalgia, unspecified"
    [issue] = result.issues
    assert issue.severity == "warning"  # the unknown system does not make the concept invalid
    assert issue.expression == "CodeableConcept.coding[0].system"


def test_validate_codeable_concept_all_invalid(engine):
    result = validate_code(
        engine, codeable_concept=CodeableConcept([Coding(ICD10CM, "XX"), Coding(ICD10CM, "M54.5")]), abstract=False
    )
    assert result.result is False
    assert [i.expression for i in result.issues] == ["CodeableConcept.coding[0].code", "CodeableConcept.coding[1].code"]
    assert all(i.severity == "error" for i in result.issues)
    empty = validate_code(engine, codeable_concept=CodeableConcept([]))
    assert empty.result is False and empty.issues[0].expression == "CodeableConcept.coding"


# ------------------------------------------------------------------------------- release selection


@pytest.fixture(scope="module")
def multi_engine(multi_store_dir):
    return Icd10cm.from_store(multi_store_dir)


@pytest.mark.parametrize(
    "date, version",
    [
        ("2026-05-01", "2026-04"),
        ("2026-04-01", "2026-04"),
        ("2026-03-31", "2026"),
        ("2025-10-01", "2026"),
        ("2026-01-15T10:00:00Z", "2026"),
        ("2030-01-01", "2026-04"),
    ],
)
def test_version_by_date(multi_engine, date, version):
    assert look(multi_engine, "M54.9", date=date).version == version
    assert validate(multi_engine, "M54.9", date=date).version == version


def test_date_before_any_release(multi_engine):
    with pytest.raises(NotFound) as raised:
        look(multi_engine, "M54.9", date="2020-01-01")
    assert "2020-01-01" in raised.value.message
    result = validate(multi_engine, "M54.9", date="2020-01-01")
    assert result.result is False and result.issues[0].expression == "date"
    assert "the earliest loaded, 2026, took effect on 2025-10-01" in result.issues[0].text


def test_version_beats_date(multi_engine):
    assert look(multi_engine, "M54.9", version="2026", date="2026-05-01").version == "2026"


def test_explicit_versions(multi_engine):
    assert look(multi_engine, "M54.9", version="2026").version == "2026"
    assert validate(multi_engine, "M54.9", version="2026").version == "2026"
    assert multi_engine.releases.versions_text == "2026, 2026-04"


def test_default_release_is_the_newest_in_effect(multi_store_dir):
    releases = open_store(multi_store_dir)
    assert Releases(releases, today=dt.date(2026, 1, 1)).default.version == "2026"
    assert Releases(releases, today=dt.date(2026, 4, 1)).default.version == "2026-04"
    assert Releases(releases, today=dt.date(2027, 1, 1)).default.version == "2026-04"
    # Nothing in effect yet: the newest answers.
    assert Releases(releases, today=dt.date(2020, 1, 1)).default.version == "2026-04"
    assert Releases(releases, "2026", today=dt.date(2027, 1, 1)).default.version == "2026"
    with pytest.raises(StoreError):
        Releases(releases, "2019")
    with pytest.raises(StoreError):
        Releases([])
    with pytest.raises(UnknownVersion):
        Releases(releases).resolve("2026-10")


def test_default_version_setting_answers_unversioned_requests(multi_store_dir):
    engine = Icd10cm.from_store(multi_store_dir, "2026")
    assert look(engine, "M54.9").version == "2026"
    assert look(engine, "M54.9", version="2026-04").version == "2026-04"


# ------------------------------------------------------------------------------------ code forms


@pytest.mark.parametrize(
    "raw, normalized",
    [
        ("m549", "M54.9"),
        (" M54.9 ", "M54.9"),
        ("M54", "M54"),
        ("s52501b", "S52.501B"),
        ("T07XXXA", "T07.XXXA"),
        ("m54.9", "M54.9"),
    ],
)
def test_normalize_code(raw, normalized):
    assert normalize_code(raw) == normalized


@pytest.mark.parametrize(
    "code, candidate",
    [
        ("T45.01A", "T45.0X1A"),
        ("T07A", "T07.XXXA"),
        ("S00.0A", "S00.0XXA"),
        ("S0600A", "S06.0X0A"),
    ],
)
def test_placeholder_candidates(code, candidate):
    assert candidate in placeholder_candidates(code)


@pytest.mark.parametrize("code", ["M54.9", "M54", "T45.0X1A", "T45.011"])
def test_no_placeholder_candidates(code):
    assert placeholder_candidates(code) == []
