"""The loader's rules on a small tabular written for them (tests/data/tabular-small.xml): each in
milliseconds. The end-to-end load of the real April 2026 release is the session's store (conftest.py),
and test_loader.py checks it against the CDC's own figures."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest

from service.errors import NotFound
from service.icd10cm.loaders import tabular
from service.icd10cm.loaders.load import load
from service.icd10cm.operations import Icd10cm

SMALL = Path(__file__).with_name("data") / "tabular-small.xml"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


@pytest.fixture(scope="module")
def small() -> tabular.Tabular:
    return tabular.parse(str(SMALL))


def test_codes_parents_and_billable(small):
    codes = small.codes
    assert len(codes) == 19 and small.billable_count == 9
    assert codes["M54.5"].parent == "M54" and codes["M54.50"].parent == "M54.5" and codes["M54"].parent is None
    assert [c for c, code in codes.items() if code.billable] == [
        "M54.50",
        "M54.59",
        "M54.9",
        "S06.0X1A",
        "S06.0X1D",
        "S06.0X1S",
        "S06.0X7A",
        "S09.90XA",
        "S09.90XS",
    ]
    assert codes["S06.0X"].placeholder and not codes["S06.0"].placeholder


def test_chapters_blocks_and_the_super_block_nested_back(small):
    assert list(small.chapters) == ["13", "19"]
    assert (small.chapters["13"].first, small.chapters["13"].last) == ("M00", "M99")
    assert small.codes["M54.9"].blocks == ["M50-M54", "M40-M54"]  # innermost first; a sibling in the XML
    assert small.codes["S06.0X1A"].blocks == ["S00-S09"] and small.codes["S06.0X1A"].chapter == "19"


def test_seventh_characters_are_children_of_their_six_character_base(small):
    codes = small.codes
    assert [c for c in codes if c.startswith("S06.0X1") and len(c) == 8] == ["S06.0X1A", "S06.0X1D", "S06.0X1S"]
    assert all(codes[c].parent == "S06.0X1" for c in ("S06.0X1A", "S06.0X1D", "S06.0X1S"))
    assert not codes["S06.0X1"].billable  # a header once it has 7th characters
    assert codes["S06.0X1A"].display == "Concussion with loss of consciousness of 30 minutes or less, initial encounter"


def test_the_nearest_table_wins_and_a_short_code_is_padded_with_placeholder_x(small):
    # S09.9 has its own table (A, S): no D; S09.90 is five characters, so X pads it to six.
    assert [c for c in small.codes if c.startswith("S09.90X")] == ["S09.90XA", "S09.90XS"]
    assert small.codes["S09.90XA"].parent == "S09.90"


def test_a_rule_stated_only_in_free_text_applies_while_its_note_is_there(small):
    # S06: 7th characters D and S do not apply with 6th character 7 or 8 (a note, not markup).
    assert [c for c in small.codes if c.startswith("S06.0X7")] == ["S06.0X7", "S06.0X7A"]
    without_note = SMALL.read_bytes().replace(b"<notes><note>7th characters D and S", b"<notes><note>Other text")
    relaxed = tabular.parse(BytesIO(without_note))
    assert [c for c in relaxed.codes if c.startswith("S06.0X7")] == ["S06.0X7", "S06.0X7A", "S06.0X7D", "S06.0X7S"]


def test_repeated_note_elements_are_all_read_with_their_references(small):
    excludes1 = [(n.text, n.refs) for n in small.codes["M54"].notes if n.type == "excludes1"]
    assert excludes1 == [("psychogenic dorsalgia (F45.41)", ["F45.41"]), ("spinal instabilities (M53.2-)", ["M53.2-"])]
    code_also = [n.refs for n in small.codes["S06"].notes if n.type == "codeAlso"]
    assert code_also == [[], ["S02-"]]
    assert [n.text for n in small.codes["M54.5"].notes if n.type == "inclusionTerm"] == ["Loin pain", "Lumbago NOS"]


def test_a_small_release_loads_in_milliseconds_and_answers(tmp_path):
    stats = load(SMALL, tmp_path / "store", version="2026", guidance_dir=tmp_path)  # no guidance files
    assert (stats.codes, stats.billable, stats.blocks, stats.chapters) == (19, 9, 3, 2)
    assert stats.seconds < 2
    engine = Icd10cm.from_store(tmp_path / "store")
    assert engine.lookup(ICD10CM, "S06.0X7A").display.endswith("prior to regaining consciousness, initial encounter")
    with pytest.raises(NotFound):
        engine.lookup(ICD10CM, "S06.0X7D")  # the free-text rule holds in the store too
