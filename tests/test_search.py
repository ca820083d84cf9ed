"""Text search that finds what people type (service/icd10cm/search.py): the clinical lexicon, spelling
tolerance, whole words before prefixes, words let go when no code has them all, the default code first,
inherited inclusion terms, 7th-character codes shown once, and what was searched, in the FHIR answer and
on the page. The quality over the held-out half of tests/data/search_eval.toml is checked at the end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import ICD10CM
from test_expand import ALL, codes, expand

from service.errors import LoadError
from service.icd10cm.expand import vocabulary
from service.icd10cm.loaders.lexicon import LEXICON_DIR, read_lexicon
from service.icd10cm.search import STOP_WORDS, Group, fts, words

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import search_quality


def searched(body) -> str | None:
    return next((p["valueString"] for p in body["expansion"]["parameter"] if p["name"] == "used-filter"), None)


def titles(body) -> list[str]:
    return [c["display"].lower() for c in body["expansion"].get("contains", ())]


# -- the lexicon ------------------------------------------------------------------------------------------


def test_every_lexicon_entry_finds_codes(engine):
    """Each entry's expansion, searched as its words, finds at least one code of the release."""
    release = engine.releases.default
    entries = read_lexicon()
    assert len(entries) > 15000
    missing = []
    for term, expansion, kind in entries:
        match = fts(Group(w, ((w,),), 0.0, (w,)) for w in words(expansion) if w not in STOP_WORDS)
        if match is None or not release.count("1", (), match):
            missing.append((term, expansion, kind))
    assert not missing, missing[:20]


def test_a_malformed_lexicon_line_stops_the_load_and_says_where(tmp_path):
    (tmp_path / "a.tsv").write_text("afib\tatrial fibrillation\tabbreviation\nhtn\thypertension\n")
    with pytest.raises(LoadError, match=r"a\.tsv:2"):
        read_lexicon(tmp_path)
    (tmp_path / "a.tsv").write_text("afib\tatrial fibrillation\tslang\n")
    with pytest.raises(LoadError, match="kind"):
        read_lexicon(tmp_path)
    assert len(read_lexicon(LEXICON_DIR)) == sum(1 for f in LEXICON_DIR.glob("*.tsv") for _ in f.open())


def test_an_abbreviation_is_searched_as_what_it_stands_for(client):
    body = expand(client, url=ALL, filter="afib", count=5)
    assert codes(body)[0].startswith("I48") and searched(body) == "atrial fibrillation"
    assert not any("afibrinogenemia" in t for t in titles(body)), "an abbreviation is not a word prefix"


def test_a_lay_term_finds_the_clinical_code(client):
    body = expand(client, url=ALL, filter="heart attack", count=5)
    assert any(c.startswith("I21") for c in codes(body)[:3]), codes(body)


def test_a_variant_keeps_its_own_meaning_too(client):
    """'leg' is a word of the titles and also means 'lower limb': both are searched."""
    body = expand(client, url=ALL, filter="cellulitis of left lower leg", count=5)
    assert codes(body)[0] == "L03.116", codes(body)  # Cellulitis of left lower limb


# -- spelling, words let go, short words --------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [("pnuemonia", "pneumonia"), ("asthmaa", "asthma")])
def test_a_misspelled_word_is_corrected_to_a_word_of_the_titles(client, typed, meant):
    body = expand(client, url=ALL, filter=typed, count=5)
    assert codes(body) and all(meant in t for t in titles(body)), titles(body)
    assert searched(body) == meant


def test_when_no_code_has_every_word_the_least_telling_ones_are_let_go(client):
    body = expand(client, url=ALL, filter="appendicitis zebra", count=5)
    assert codes(body) and all("appendicitis" in t for t in titles(body))
    assert searched(body) == "appendicitis" and body["expansion"]["total"] >= 5


def test_the_head_of_the_phrase_is_kept_longest(client):
    """No code has both "fall" and "home": the head ("fall", before "at") is kept, not the rarer word."""
    body = expand(client, url=ALL, filter="fall at home", count=5)
    assert searched(body) == "fall" and all("fall" in t for t in titles(body)), titles(body)


def test_a_query_of_words_no_title_has_stays_empty(client):
    assert expand(client, url=ALL, filter="qqqqzzzz xxyyzz", count=5)["expansion"]["total"] == 0


def test_a_short_word_matches_whole_words_before_prefixes(engine, client):
    """ "ear" matches the word ear, not "early"; "fra" (no title has it whole) matches as a prefix."""
    parse = vocabulary(engine.releases.default).parse
    assert '"ear"' in parse("ear").match and '"ear"*' not in parse("ear").match
    assert '"fra"*' in parse("fra").match
    assert expand(client, url=ALL, filter="fra", count=5)["expansion"]["total"] > 0


# -- ranking ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("iron deficiency anemia", "D50.9"),  # the unspecified billable code before its header
        ("acute appendicitis", "K35.80"),  # inclusion term "Acute appendicitis NOS"
        ("acute pancreatitis", "K85.90"),  # without necrosis or infection, before with
        ("parkinsons disease", "G20.A1"),  # without dyskinesia, without fluctuations
        ("diabetic polyneuropathy", "E11.42"),  # type 2 when no type is named (I.C.4.a.2)
    ],
)
def test_the_code_a_coder_takes_by_default_comes_first(client, query, first):
    assert codes(expand(client, url=ALL, filter=query, count=5))[0] == first


def test_inclusion_terms_of_a_code_are_those_of_the_codes_below_it(client):
    """'tennis elbow' is an inclusion term of M77.1: its billable codes are found by it."""
    found = codes(expand(client, url=ALL, filter="tennis elbow", count=10))
    assert found[0] == "M77.10" and {"M77.11", "M77.12"} <= set(found)


def test_a_7th_character_code_is_shown_once_at_its_initial_encounter(client):
    found = codes(expand(client, url=ALL, filter="whiplash", count=10))
    assert found[0] == "S13.4XXA" and not {"S13.4XXD", "S13.4XXS"} & set(found)
    later = codes(expand(client, url=ALL, filter="whiplash sequela", count=10))
    assert "S13.4XXS" in later, later


def test_a_value_set_of_later_encounters_keeps_them(client):
    """Only a search of the whole code system collapses 7th characters: a value set asks for its own codes."""
    isa = f"{ICD10CM}?fhir_vs=isa/S13.4"
    found = codes(expand(client, url=isa, filter="sprain", count=10))
    assert {"S13.4XXA", "S13.4XXD", "S13.4XXS"} <= set(found)


def test_pages_of_a_rewritten_search_are_stable(client):
    full = codes(expand(client, url=ALL, filter="htn", count=40))
    pages = [codes(expand(client, url=ALL, filter="htn", count=10, offset=o)) for o in (0, 10, 20, 30)]
    assert sum(pages, []) == full and len(set(full)) == len(full)


# -- the pages ---------------------------------------------------------------------------------------------


def test_the_search_page_says_what_was_searched(client):
    html = client.get("/search", query_string={"q": "afib"}).get_data(as_text=True)
    assert "Showing results for" in html and "“afib” searched as “atrial fibrillation”" in html
    html = client.get("/search", query_string={"q": "fall at home"}).get_data(as_text=True)
    assert "“home” left out" in html
    plain = client.get("/search", query_string={"q": "asthma"}).get_data(as_text=True)
    assert "Showing results for" not in plain


# -- quality over the held-out half ------------------------------------------------------------------------


def test_search_quality_on_the_held_out_half(engine):
    """tests/data/search_eval.toml was written before the search was tuned; the "report" half was never
    used to tune it. The floors are the figures measured (docs/valuesets.md), less a query or two:
    a change that loses findability fails here. Issue 17's targets are P@5 >= 0.90 and P@1 >= 0.75 overall
    and every kind at P@5 >= 0.75, with no empty answer."""
    totals = search_quality.score(engine, search_quality.queries("report"))
    overall = totals["all"]
    print({kind: (round(t["p1"] / t["n"], 2), round(t["p5"] / t["n"], 2)) for kind, t in totals.items()})
    assert overall["p5"] / overall["n"] >= P5_FLOOR and overall["p1"] / overall["n"] >= P1_FLOOR
    assert overall["empty"] == 0
    for kind, t in totals.items():
        assert t["p5"] / t["n"] >= 0.75, (kind, t["misses"])


P5_FLOOR, P1_FLOOR = 0.90, 0.80
