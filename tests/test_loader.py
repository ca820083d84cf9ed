"""The loader: the April 1 2026 tabular read completely and exactly, references, sources, the store."""

from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from helpers import ICD10CM

from service.errors import LoadError
from service.icd10cm.loaders.build import build_release
from service.icd10cm.loaders.load import load
from service.icd10cm.loaders.references import parse_references
from service.icd10cm.loaders.sources import ReleaseSource, default_source_path, label_release, read_source
from service.icd10cm.operations import Icd10cm
from service.icd10cm.store.reader import Release, open_store

SMALL = Path(__file__).with_name("data") / "tabular-small.xml"


def compact(code: str) -> str:
    return code.replace(".", "")


# ------------------------------------------------------------------------------------------- counts


def test_counts(tabular):
    codes = tabular.codes
    billable = [c for c in codes.values() if c.billable]
    assert len(codes) == 98_186
    assert len(billable) == tabular.billable_count == 74_719
    assert len(codes) - len(billable) == 23_467
    assert len(tabular.chapters) == 22
    assert len(tabular.blocks) == 297
    assert tabular.fiscal_year == "2026"


def test_billable_counts_by_length(tabular):
    lengths = Counter(len(compact(c.code)) for c in tabular.codes.values() if c.billable)
    assert [lengths[n] for n in (3, 4, 5, 6, 7)] == [214, 5_398, 7_143, 10_479, 51_485]


def test_headers_are_exactly_the_codes_with_children(tabular):
    codes = tabular.codes
    for code in codes.values():
        assert code.billable == (not code.children), code.code
    headers = [c for c in codes.values() if c.children]
    # 10,538 with children in the XML, 12,929 XML leaves that need a 7th character.
    needing_seventh = [c for c in headers if c.seventh is not None]
    assert len(needing_seventh) == 12_929
    assert all(codes[child].seventh and codes[child].parent == c.code for c in needing_seventh for child in c.children)
    assert len(headers) - len(needing_seventh) == 10_538


# ---------------------------------------------------------------------------- the CDC code list


@pytest.fixture(scope="module")
def code_list() -> list[str]:
    path = default_source_path().parent / "code-list-April-2026.txt"
    raw = path.read_bytes()
    assert b"\r\n" in raw, "the code list is CRLF"
    return raw.decode("ascii").splitlines()


def test_codes_equal_the_cdc_code_list(tabular, code_list):
    listed = set(code_list)
    chapters = set(tabular.chapters)
    blocks = set(tabular.blocks)
    ours = {compact(c) for c in tabular.codes}
    assert len(ours) == len(tabular.codes), "two codes collapse to the same dotless form"
    missing = sorted(listed - chapters - (blocks - ours) - ours)
    extra = sorted(ours - listed)
    assert not missing, f"{len(missing)} codes of the CDC list are not loaded: {missing[:20]}"
    assert not extra, f"{len(extra)} loaded codes are not in the CDC list: {extra[:20]}"
    # What is left of the list once the codes are taken out is exactly the chapters and blocks.
    assert listed - ours == (chapters | blocks) - ours
    assert len(listed - ours) == 22 + 258
    # Blocks named by a single category (P84, T07, ...) are listed twice: as block and as code.
    repeated = {line for line, n in Counter(code_list).items() if n > 1}
    assert repeated == {b for b in blocks if "-" not in b}


# ----------------------------------------------------------------- 7th characters and placeholders


def test_s06_exception(tabular):
    codes = tabular.codes
    assert "S06.1X7A" in codes and codes["S06.1X7A"].billable
    assert "S06.1X7D" not in codes
    assert "S06.1X7S" not in codes
    assert "S06.0X1D" in codes and "S06.0X1S" in codes
    assert codes["S06.1X7"].children == ["S06.1X7A"]
    assert codes["S06.1X8"].children == ["S06.1X8A"]
    assert not codes["S06.1X7"].billable
    # The rule is applied to every S06 code with 6th character 7 or 8, and nowhere else.
    s06 = [
        c for c in codes.values() if c.code.startswith("S06.") and c.seventh is not None and len(compact(c.code)) == 6
    ]
    s06_7_8 = [c for c in s06 if compact(c.code)[5] in "78"]
    assert len(s06_7_8) * 2 == 76  # D and S dropped from each: 76 codes not generated
    assert all(c.seventh == "A" and c.children == [c.code + "A"] for c in s06_7_8)
    others = [c for c in s06 if compact(c.code)[5] not in "78"]
    assert others and all(c.seventh == "ADS" for c in others)
    # S06.0X1 (6th character 1) keeps all three.
    assert codes["S06.0X1"].children == ["S06.0X1A", "S06.0X1D", "S06.0X1S"]


def test_t07_category_takes_a_7th_character(tabular):
    codes = tabular.codes
    assert codes["T07"].children == ["T07.XXXA", "T07.XXXD", "T07.XXXS"]
    assert not codes["T07"].billable
    for char in "ADS":
        code = codes[f"T07.XXX{char}"]
        assert code.billable and code.parent == "T07" and code.seventh == char
    assert codes["T07.XXXA"].display == "Unspecified multiple injuries, initial encounter"


@pytest.mark.parametrize(
    "code, parent",
    [
        ("S00.00XA", "S00.00"),  # padding X added by the 7th-character expansion
        ("J09.X1", "J09.X"),  # placeholder subtree at the 4th character
        ("M01.X11", "M01.X1"),
        ("T36.0X1A", "T36.0X1"),  # placeholder at the 5th character, then a 7th character
        ("H21.1X1", "H21.1X"),
    ],
)
def test_placeholder_codes_exist(tabular, code, parent):
    assert tabular.codes[code].parent == parent
    assert tabular.codes[code].billable


def test_placeholder_subtrees_are_marked(tabular):
    assert tabular.codes["J09.X"].placeholder
    assert tabular.codes["M01.X"].placeholder
    assert not tabular.codes["J09"].placeholder


def test_x_after_the_first_character_is_always_a_placeholder(tabular):
    # A leading X is a chapter-20 category; any other X is padding or a placeholder position.
    for code in tabular.codes.values():
        body = compact(code.code)[1:]
        if "X" not in body:
            continue
        generated = code.seventh is not None and not code.children and len(compact(code.code)) == 7
        in_placeholder_subtree = (
            any(tabular.codes[a].placeholder for a in _ancestors(tabular, code.code)) or code.placeholder
        )
        assert generated or in_placeholder_subtree, code.code


def _ancestors(tabular, code: str) -> list[str]:
    found = []
    parent = tabular.codes[code].parent
    while parent is not None:
        found.append(parent)
        parent = tabular.codes[parent].parent
    return found


def test_generated_codes_hang_under_their_six_character_base(tabular):
    codes = tabular.codes
    generated = [
        c
        for c in codes.values()
        if c.seventh_owner and len(c.seventh or "") == 1 and not c.children and len(compact(c.code)) == 7
    ]
    assert len(generated) == 51_305
    for code in generated:
        base = codes[code.parent]
        assert compact(code.code)[:6] == compact(base.code).ljust(6, "X"), code.code
        assert code.code[-1] == code.seventh
        assert not base.billable, base.code
        assert code.code in base.children
        assert code.display.startswith(base.display + ", ")


def test_explicit_seven_character_codes_stay_billable_leaves(tabular):
    codes = tabular.codes
    explicit = [c for c in codes.values() if len(compact(c.code)) == 7 and c.seventh is None]
    assert len(explicit) == 180
    assert all(c.billable and not c.children for c in explicit)
    for name in ("C44.1192", "L98.A111", "H54.0X33"):
        code = codes[name]
        assert code.billable and not code.children and code.seventh is None
    assert codes["C44.1192"].parent == "C44.119"
    assert codes["C44.1192"].display == "Basal cell carcinoma of skin of left lower eyelid, including canthus"


def _xml_seventh_definitions() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Independently of the loader: each diag's own 7th-character set, and for each XML leaf the
    nearest definition (owner, characters)."""
    root = ET.parse(default_source_path()).getroot()
    own: dict[str, str] = {}
    leaves: dict[str, tuple[str, str]] = {}

    def walk(diag, inherited):
        name = diag.findtext("name").strip()
        definition = diag.find("sevenChrDef")
        if definition is not None:
            own[name] = "".join(e.get("char") for e in definition.findall("extension"))
            inherited = (name, own[name])
        children = diag.findall("diag")
        for child in children:
            walk(child, inherited)
        if not children and inherited is not None:
            leaves[name] = inherited

    for category in root.iter("section"):
        for diag in category.findall("diag"):
            walk(diag, None)
    return own, leaves


def test_nearest_seventh_character_definition_wins(tabular):
    own, leaves = _xml_seventh_definitions()
    # S52 defines the 16 Gustilo characters; S52.01 (torus fracture) its own smaller set.
    assert own["S52"] == "ABCDEFGHJKMNPQRS"
    assert own["S52.01"] == "ADGKPS"
    codes = tabular.codes
    assert codes["S52.011"].children == [f"S52.011{c}" for c in own["S52.01"]]
    assert codes["S52.011"].seventh_owner == "S52.01"
    assert "S52.011B" not in codes
    assert codes["S52.501"].children == [f"S52.501{c}" for c in own["S52"]]
    assert codes["S52.501"].seventh_owner == "S52"
    # Data-wide: every leaf below a definition gets exactly the nearest definition's characters
    # (minus the S06 exception), and nothing else gets a 7th character.
    assert len(own) == 508
    mismatches = []
    for name, (owner, chars) in leaves.items():
        if len(compact(name)) >= 7:
            continue
        code = codes[name]
        expected = chars
        if name.startswith("S06.") and len(compact(name)) == 6 and compact(name)[5] in "78":
            expected = "".join(c for c in chars if c not in "DS")
        base = (name if "." in name else name + ".").ljust(7, "X")
        if code.seventh_owner != owner or code.children != [base + c for c in expected]:
            mismatches.append(name)
    assert not mismatches, mismatches[:20]
    assert sum(len(codes[n].children) for n in leaves if len(compact(n)) < 7) == 51_305
    assert len([n for n in leaves if len(compact(n)) < 7]) == 12_929


def test_seventh_character_inclusion_terms_follow_their_character(tabular):
    notes = [n for n in tabular.codes["S52"].notes if n.type.startswith("sevenChr")]
    b = [i for i, n in enumerate(notes) if n.type == "sevenChrDef" and n.char == "B"][0]
    assert notes[b + 1].type == "sevenChrInclusionTerm"
    assert notes[b + 1].char == "B"
    assert notes[b + 1].text == "initial encounter for open fracture NOS"  # tab in the XML trimmed
    assert [n.char for n in notes if n.type == "sevenChrDef"] == list("ABCDEFGHJKMNPQRS")


# ------------------------------------------------------------------------------------------ blocks


def test_super_blocks_are_nested_innermost_first(tabular):
    codes = tabular.codes
    assert codes["M54"].blocks == ["M50-M54", "M40-M54"]
    assert codes["M54.9"].blocks == ["M50-M54", "M40-M54"]
    assert codes["C50"].blocks == ["C50", "C00-C75", "C00-C96"]
    assert codes["C50.911"].blocks == ["C50", "C00-C75", "C00-C96"]
    assert codes["V00.01XA"].blocks == ["V00-V09", "V00-V99", "V00-X58"]
    assert codes["E11.9"].blocks == ["E08-E13"]


def test_block_chains_are_nested_ranges_of_one_chapter(tabular):
    blocks = tabular.blocks
    for code in tabular.codes.values():
        chain = [blocks[b] for b in code.blocks]
        # The innermost block holds the category (C4A sits in C43-C44: no plain string range test).
        assert code.code[:3] in (chain[0].first, chain[0].last) or chain[0].first < code.code[:3], code.code
        assert all(b.chapter == code.chapter for b in chain), code.code
        for inner, outer in zip(chain, chain[1:], strict=False):
            assert outer.first <= inner.first and inner.last <= outer.last, (code.code, code.blocks)
    holding = {code.blocks[0] for code in tabular.codes.values()}
    assert len(holding) == 285
    assert set(blocks) - holding == {
        "C00-C75",
        "C00-C96",
        "M00-M25",
        "M40-M54",
        "M60-M79",
        "M80-M94",
        "T07-T88",
        "T20-T32",
        "V00-V99",
        "V00-X58",
        "W00-X58",
        "Y62-Y84",
    }


def test_chapters(tabular):
    chapter = tabular.chapters["13"]
    assert chapter.title == "Diseases of the musculoskeletal system and connective tissue (M00-M99)"
    assert (chapter.first, chapter.last) == ("M00", "M99")
    assert [c.number for c in tabular.chapters.values()] == [str(n) for n in range(1, 23)]
    assert tabular.codes["M54.9"].chapter == "13"
    assert tabular.codes["U07.1"].chapter == "22"


# -------------------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    "text, expected",
    [
        ("discitis NOS (M46.4-)", ["M46.4-"]),
        ("neoplasms (C00-C96)", ["C00-C96"]),
        ("alcohol related disorders (F10.-)", ["F10-"]),
        ("Code also any associated intracranial injury, subcategories S06.1- to S06.6-", ["S06.1-S06.6"]),
        ("(S06.1- to S06.6-)", ["S06.1-S06.6"]),
        (
            "infection and inflammatory reaction due to prosthesis (T82.84, T83.84, T84.84, T85.84-)",
            ["T82.84", "T83.84", "T84.84", "T85.84-"],
        ),
        # qualified: never the bare range (test_a_qualified_reference_means_the_codes_it_selects)
        ("underdosing of drugs (T36-T50 with fifth or sixth character 5)", []),
        ("hypervolemia (E87.8}", ["E87.8"]),
        ("vitamin B12 deficiency (D51.-)", ["D51-"]),
        ("psychogenic dorsalgia (F45.41)", ["F45.41"]),
        ("complications of pregnancy, childbirth and the puerperium (O00-O9A)", ["O00-O9A"]),
        ("weeks of gestation (Z3A.-)", ["Z3A-"]),
        ("use additional code for insulin use Z79.4", ["Z79.4"]),
        ("fracture (S72.0-, S72.1-)", ["S72.0-", "S72.1-"]),
        ("(A00.0-A00.9)", ["A00.0-A00.9"]),
        ("duplicate (F45.41) and again (F45.41)", ["F45.41"]),
        ("current injury - see injury of spine by body region", []),
        ("category B12 and vitamin B12, type 2 diabetes", []),
        ("", []),
    ],
)
def test_parse_references(text, expected):
    assert parse_references(text) == expected


@pytest.mark.parametrize(
    ("owner", "kind", "words", "expected"),
    [
        # "(X-Y with .NN)": the codes of each category of the range that end so, not the range
        ("G59", "excludes1", "E08-E13 with .41", ["E08.41", "E09.41", "E10.41", "E11.41", "E13.41"]),
        ("I73.8", "excludes1", "with .51-.52", ["E08.51", "E08.52", "E09.51", "E09.52", "E10.51"]),
        # a character at a position
        ("K77", "codeFirst", "B27.0-B27.9 with fifth character 9", ["B27.09", "B27.19", "B27.89", "B27.99"]),
        ("E87.20", "codeAlso", "J96. with 5th character 2", ["J96.02", "J96.12", "J96.22", "J96.92"]),
        ("S23.0", "excludes1", "M51.- with fifth character 4", ["M51.04", "M51.14", "M51.24", "M51.34"]),
        # final characters
        ("R47.02", "excludes1", "I69. with final characters -21", ["I69.021", "I69.121", "I69.221", "I69.321"]),
        ("E87.0", "excludes2", "with final characters .00 or .01", ["E08.00", "E08.01", "E09.00", "E09.01"]),
        # 7th characters
        ("F07.81", "excludes1", "S06.0X- with seventh character A", ["S06.0X0A", "S06.0X1A", "S06.0X9A"]),
    ],
)
def test_a_qualified_reference_means_the_codes_it_selects(tabular, owner, kind, words, expected):
    [note] = [n for n in tabular.codes[owner].notes if n.type == kind and words in n.text]
    assert set(expected) <= set(note.refs), note.refs
    categories = {ref.split(".")[0] for ref in note.refs}
    bare = [ref for ref in note.refs if "-" in ref.rstrip("-") or (ref in categories and "." not in ref)]
    assert not bare, f"a bare range or category among {note.refs}"


def test_categories_named_in_words_are_references(tabular):
    weeks = [n for n in tabular.chapters["15"].notes if n.type == "useAdditionalCode" and "Z3A" in n.text]
    assert weeks and weeks[0].refs == ["Z3A-"]
    [named] = [n for n in tabular.codes["O24.8"].notes if "from categories" in n.text]
    assert named.refs == ["E08-", "E09-", "E13-"]
    # "see categories E08-E10, E11, E13 with ketoacidosis" means some of their codes: no reference.
    [acidosis] = [n for n in tabular.codes["E87.2"].notes if "ketoacidosis" in n.text]
    assert acidosis.refs == []


def test_a_qualified_reference_too_broad_to_list_stays_qualified(tabular):
    [note] = [n for n in tabular.blocks["T80-T88"].notes if "fifth or sixth character 5" in n.text]
    assert note.refs == ["T36-T50 with fifth or sixth character 5"]
    [seventh] = [n for n in tabular.codes["S41"].notes if "with 7th character B or C" in n.text]
    assert seventh.refs == ["S42.- with 7th character B or C"]
    # A qualifier this parser does not read leaves no reference, never the bare range.
    [unread] = [n for n in tabular.codes["S51"].notes if "open fracture 7th character" in n.text]
    assert "S52-" not in unread.refs and not any(r.startswith("S52") for r in unread.refs)


def test_every_reference_in_the_release_resolves(tabular):
    codes = tabular.codes
    blocks = tabular.blocks
    firsts = {b.first for b in blocks.values()}
    lasts = {b.last for b in blocks.values()}
    # Genuine typos of the April 2026 tabular (not parser errors):
    known_typos = {
        ("F02", "G31.90"),  # "other frontotemporal neurocognitive disorder (G31.90)": the code is G31.9
        ("R10.85", "R10.1-R10.4"),  # "localized abdominal pain (R10.1-R10.4-)": there is no R10.4
    }
    owners = [(f"chapter {c.number}", c.notes) for c in tabular.chapters.values()]
    owners += [(f"block {b.id}", b.notes) for b in blocks.values()]
    owners += [(c.code, c.notes) for c in codes.values()]
    unresolved = []
    count = 0
    for owner, notes in owners:
        for note in notes:
            for ref in note.refs:
                count += 1
                if " with " in ref:  # a qualified reference too broad to list: it must select codes
                    ok = any(written == ref for *_, written in note.qualified)
                elif ref.endswith("-"):
                    ok = ref[:-1] in codes or ref[:-1] in blocks
                elif "-" in ref:
                    first, last = ref.split("-")
                    ok = (first in codes or first in firsts) and (last in codes or last in lasts) and first <= last
                else:
                    ok = ref in codes or ref in blocks
                if not ok and (owner, ref) not in known_typos:
                    unresolved.append(f"{owner} {note.type}: {note.text!r} -> {ref}")
    assert count > 10_000
    assert not unresolved, f"{len(unresolved)} unresolved references:\n" + "\n".join(unresolved)


def test_references_are_kept_on_cross_reference_notes_only(tabular):
    m54 = tabular.codes["M54"]
    excludes1 = [n for n in m54.notes if n.type == "excludes1"]
    assert [(n.text, n.refs) for n in excludes1] == [("psychogenic dorsalgia (F45.41)", ["F45.41"])]
    # Inclusion terms are not cross-references even when they look like one.
    assert all(not n.refs for c in tabular.codes.values() for n in c.notes if n.type == "inclusionTerm")


def test_a_note_line_that_goes_on_from_its_element_keeps_the_whole_sentence(tabular):
    """Some lines continue the element's own words ("Code first" + ", if applicable, ..."): the sentence is kept
    whole, never a fragment that starts with a comma."""
    lines = [
        n
        for owner in [*tabular.codes.values(), *tabular.blocks.values()]
        for n in owner.notes
        if n.type in ("codeFirst", "useAdditionalCode", "codeAlso", "excludes1", "excludes2", "includes")
    ]
    assert lines and not [n.text for n in lines if n.text.startswith(",")]
    block = [n.text for n in tabular.blocks["T66-T78"].notes if n.type == "codeAlso"]
    assert block[0] == "Code also, if applicable, place of occurrence, such as:"
    c92 = [n.text for n in tabular.codes["C92"].notes if n.type == "codeAlso"]
    assert "Code also, if applicable, pancytopenia (acquired) (D61.818)" in c92


# ----------------------------------------------------------------------------------------- sources


def test_load_from_a_cdc_zip(tmp_path):
    """The zip's tabular is found beside the index; the small tabular (test_loader_small.py) stands in for
    the release, whose whole load the session's store does once."""
    archive = tmp_path / "icd10cm-table-index-April-2026.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(SMALL, "icd10cm-tabular-April-2026.xml")
        zf.writestr("icd10cm-index-April-2026.xml", "<ICD10CM.index><version>2026</version></ICD10CM.index>")
    store = tmp_path / "store"
    stats = load(archive, store, guidance_dir=tmp_path)  # no guidance files: its codes are not in the small one
    assert stats.version == "2026-04"
    assert (stats.codes, stats.billable, stats.blocks, stats.chapters) == (19, 9, 3, 2)
    assert stats.path == store / "icd10cm-2026-04.sqlite"
    [release] = open_store(store)
    assert release.version == "2026-04"
    assert release.effective == "2026-04-01"
    assert release.meta["source_name"] == "icd10cm-tabular-April-2026.xml"
    assert release.meta["source_origin"] == archive.name
    assert release.concept("M54.9").display == "Dorsalgia, unspecified"
    assert not list(store.glob("*.tmp*")), "a temporary build file was left behind"


def test_october_named_file_and_april_release_side_by_side(multi_store_dir):
    releases = {r.version: r for r in open_store(multi_store_dir)}
    assert set(releases) == {"2026", "2026-04"}
    assert releases["2026"].effective == "2025-10-01"
    assert releases["2026"].meta["fiscal_year"] == "2026"
    assert releases["2026"].meta["source_name"] == "icd10cm_tabular_2026.xml"
    assert releases["2026-04"].effective == "2026-04-01"
    assert releases["2026"].code_count == releases["2026-04"].code_count == 98_186
    assert (multi_store_dir / "icd10cm-2026.sqlite").is_file()
    assert (multi_store_dir / "icd10cm-2026-04.sqlite").is_file()


def test_version_and_effective_override(tmp_path):
    stats = load(SMALL, tmp_path, version="2025-04", effective="2025-04-15", guidance_dir=tmp_path)
    assert stats.version == "2025-04"
    [release] = open_store(tmp_path)
    assert (release.version, release.effective, release.meta["fiscal_year"]) == ("2025-04", "2025-04-15", "2025")


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("broken_tabular.xml", b"<ICD10CM.tabular><version>2026</version><chapter>", "broken_tabular.xml"),
        ("other_tabular.xml", b"<ICD10CM.index><version>2026</version></ICD10CM.index>", "other_tabular.xml"),
        (
            "noversion_tabular.xml",
            b"<ICD10CM.tabular><version>twenty</version></ICD10CM.tabular>",
            "noversion_tabular.xml",
        ),
        ("empty_tabular.xml", b"", "empty_tabular.xml"),
    ],
)
def test_bad_xml_gives_a_load_error_naming_the_file(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError) as raised:
        load(path, tmp_path / "store")
    assert message in raised.value.message
    assert not open_store(tmp_path / "store")


def test_missing_source_and_bad_zip(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        read_source(tmp_path / "nothing.xml")
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("icd10cm-index-2026.xml", "<x/>")
    with pytest.raises(LoadError, match="tabular"):
        read_source(archive)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/icd10cm-tabular-2026.xml", "<x/>")
        zf.writestr("b/icd10cm-tabular-April-2026.xml", "<x/>")
    with pytest.raises(LoadError, match="expected one"):
        read_source(archive)


@pytest.mark.parametrize(
    "name, version, effective, expected",
    [
        ("icd10cm_tabular_2026.xml", None, None, ("2026", "2025-10-01")),
        ("icd10cm-tabular-April-2026.xml", None, None, ("2026-04", "2026-04-01")),
        ("icd10cm_tabular_2026.xml", "2026-04", None, ("2026-04", "2026-04-01")),
        ("icd10cm-tabular-April-2026.xml", "2027", None, ("2027", "2026-10-01")),
        ("icd10cm_tabular_2026.xml", None, "2025-11-01", ("2026", "2025-11-01")),
    ],
)
def test_release_labels(name, version, effective, expected):
    label = label_release("2026", ReleaseSource(name, b"", name), version, effective)
    assert (label.version, label.effective) == expected


@pytest.mark.parametrize(
    "fiscal_year, version, effective",
    [
        ("", None, None),
        ("FY26", None, None),
        ("2026", "v1", None),
        ("2026", "2026-10", None),
        ("2026", None, "1 April 2026"),
    ],
)
def test_bad_release_labels(fiscal_year, version, effective):
    with pytest.raises(LoadError):
        label_release(fiscal_year, ReleaseSource("x_tabular.xml", b"", "x_tabular.xml"), version, effective)


def test_cli_load_error_exit_code(tmp_path, capsys):
    from service.cli import main

    bad = tmp_path / "bad_tabular.xml"
    bad.write_text("not xml")
    assert main(["load", str(bad), "--store", str(tmp_path / "store")]) == 2
    assert "bad_tabular.xml" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- store


def test_rebuilding_a_release_does_not_disturb_an_open_one(tmp_path, store_dir, tabular):
    [original] = store_dir.glob("icd10cm-2026-04.sqlite")
    path = tmp_path / original.name
    path.write_bytes(original.read_bytes())
    old = Release(path)
    old_engine = Icd10cm.from_store(tmp_path)
    inode = path.stat().st_ino

    changed = dataclasses.replace(tabular.codes["M54.9"], display="Rebuilt display")
    rebuilt = dataclasses.replace(tabular, codes={**tabular.codes, "M54.9": changed})
    source = read_source(None)
    stats = build_release(rebuilt, label_release(rebuilt.fiscal_year, source), source, tmp_path)

    assert stats.path == path
    assert path.stat().st_ino != inode, "the release file was changed in place, not replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == [original.name]
    # The open release keeps answering from the file it opened ...
    assert old.concept("M54.9").display == "Dorsalgia, unspecified"
    assert old.concept("S52.501B") is not None
    assert old_engine.lookup(ICD10CM, "M54.9").display == "Dorsalgia, unspecified"
    # ... and a newly opened one sees the rebuild.
    new = Release(path)
    assert new.concept("M54.9").display == "Rebuilt display"
    assert list(new.concept("M54").children[-1]) == ["M54.9", "Rebuilt display"]
    old.close()
    new.close()


def test_open_store_ignores_temporary_and_other_files(tmp_path, store_dir):
    [original] = store_dir.glob("*.sqlite")
    (tmp_path / "icd10cm-2026-04.sqlite").write_bytes(original.read_bytes())
    (tmp_path / f"icd10cm-2027.sqlite.tmp-{os.getpid()}").write_bytes(b"partial")
    (tmp_path / "notes.txt").write_text("x")
    assert [r.version for r in open_store(tmp_path)] == ["2026-04"]
    assert open_store(tmp_path / "missing") == []


def test_store_stats_in_meta(store_dir):
    [release] = open_store(store_dir)
    meta = release.meta
    assert meta["codes"] == "98186" and meta["billable"] == "74719"
    assert meta["source_name"] == default_source_path().name
    assert len(meta["source_sha256"]) == 64
    assert meta["source_sha256"].startswith("f161f818")


def test_default_source_is_the_april_2026_file():
    path = default_source_path()
    assert path.name == "icd10c-tabular-April-1-2026.xml"
    assert path.stat().st_size == 9_747_661
    assert isinstance(path, Path)


def test_serve_rebuilds_a_stale_default_release(store_dir, tmp_path):
    """A store written by an older version of the service is rebuilt on start (the default
    release); another stale release is reported with the command that rebuilds it."""
    import shutil
    import sqlite3

    from service.cli import _ensure_store
    from service.icd10cm.store.reader import StaleRelease, open_store

    store = tmp_path / "store"
    shutil.copytree(store_dir, store)
    release = next(store.glob("icd10cm-*.sqlite"))
    with sqlite3.connect(release) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(StaleRelease):
        open_store(store)
    _ensure_store(store)
    assert [r.version for r in open_store(store)] == ["2026-04"]

    with sqlite3.connect(release) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
        db.execute("UPDATE meta SET value = 'someone-elses.xml' WHERE key = 'source_origin'")
    db.close()
    with pytest.raises(StaleRelease) as raised:
        _ensure_store(store)
    assert "python -m service load someone-elses.xml" in raised.value.message


def test_tests_share_the_release_files_instead_of_copying_them(store_dir, multi_store_dir):
    """A copy is 109 MB: the session's release is built once, and stores made from it link to it."""
    [built] = store_dir.glob("icd10cm-*.sqlite")
    assert (multi_store_dir / built.name).stat().st_ino == built.stat().st_ino
