"""$lookup: a code's display, hierarchy, status, chapter, block and instructional notes.

Notes are gathered from every level that applies to the code, nearest first: the code itself,
its ancestors, its block and the super-blocks spanning it, its chapter. Each note says which
level it comes from and where it is declared. Inclusion terms belong to their own code only;
7th-character tables come from the nearest definition only (it overrides those above).

Properties are returned in the shape of FHIR ``Parameters.parameter`` entries (plain dicts),
because the notes of a block or chapter are shared by thousands of codes: they are built once
per (owner, level) and reused, which keeps a lookup to a few microseconds of Python.
"""

from __future__ import annotations

from functools import lru_cache

from ..store.reader import ConceptRow, Release
from ..store.schema import block_key, chapter_key
from .model import LookupResult
from .resources import PROPERTIES

# XML note element -> property code (declared in resources.PROPERTIES).
NOTE_PROPERTIES = {
    "inclusionTerm": "inclusionTerm",
    "includes": "includes",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "codeFirst",
    "useAdditionalCode": "useAdditionalCode",
    "codeAlso": "codeAlso",
    "notes": "note",
    "sevenChrNote": "sevenChrNote",
}
PROPERTY_CODES = tuple(PROPERTIES)
_SEVENTH = ("sevenChrNote", "sevenChrDef", "sevenChrInclusionTerm")


def part(name: str, value, value_type: str) -> dict:
    return {"name": name, f"value{value_type}": value}


def property_param(code: str, value, value_type: str, description: str | None = None,
                   subproperties: list[dict] | None = None) -> dict:
    parts = [part("code", code, "Code"), part("value", value, value_type)]
    if description is not None:
        parts.append(part("description", description, "String"))
    if subproperties:
        parts += [{"name": "subproperty", "part": [part("code", name, "Code"), part("value", v, t)]}
                  for name, v, t in subproperties]
    return {"name": "property", "part": parts}


def note_owners(concept: ConceptRow) -> list[tuple[str, str, str]]:
    """(owner key, level, source id) for every level whose notes apply, nearest first."""
    owners = [(concept.code, "code", concept.code)]
    owners += [(code, "ancestor", code) for code in concept.ancestors]
    owners += [(block_key(b), "block", b) for b in concept.blocks]
    owners.append((chapter_key(concept.chapter), "chapter", concept.chapter))
    return owners


class NoteRenderer:
    """Builds, once per (owner, level), the property entries of an owner's notes."""

    def __init__(self, release: Release):
        self.release = release
        self.rendered = lru_cache(maxsize=16384)(self._render)

    def _render(self, owner: str, level: str, source: str) -> tuple[tuple[tuple[str, dict], ...], tuple[dict, ...]]:
        """(code, entry) pairs for ordinary notes, and the raw 7th-character notes (filtered per code)."""
        entries, seventh = [], []
        for note in self.release.notes(owner):
            kind = note["type"]
            if kind in _SEVENTH:
                seventh.append(note)
            elif kind != "inclusionTerm" or level == "code":
                subproperties = [("level", level, "Code"), ("source", source, "Code")]
                subproperties += [("reference", ref, "String") for ref in note.get("refs", ())]
                name = NOTE_PROPERTIES[kind]
                entries.append((name, property_param(name, note["text"], "String", None, subproperties)))
        return tuple(entries), tuple(seventh)


def _seventh_character_entries(concept: ConceptRow, notes: tuple[dict, ...], level: str, source: str,
                               wanted) -> list[dict]:
    entries: list[dict] = []
    where = [("level", level, "Code"), ("source", source, "Code")]
    for note in notes:
        kind = note["type"]
        if kind == "sevenChrNote" and "sevenChrNote" in wanted:
            entries.append(property_param("sevenChrNote", note["text"], "String", None, where))
        elif "sevenChrDef" in wanted and (concept.seventh is None or note["char"] in concept.seventh):
            if kind == "sevenChrDef":
                entries.append(property_param("sevenChrDef", note["char"], "Code", note["text"], where))
            elif entries:  # an inclusion term of the character just listed
                entries[-1]["part"].append({"name": "subproperty", "part": [
                    part("code", "inclusionTerm", "Code"), part("value", note["text"], "String")]})
    return entries


def lookup(release: Release, renderer: NoteRenderer, concept: ConceptRow,
           wanted: frozenset[str] | None = None) -> LookupResult:
    everything = wanted is None or "*" in wanted
    if everything:
        wanted = frozenset(PROPERTY_CODES)
    properties: list[dict] = []
    if "parent" in wanted and concept.parent:
        properties.append(property_param("parent", concept.parent, "Code", concept.parent_display))
    if "child" in wanted:
        properties += [property_param("child", code, "Code", display) for code, display in concept.children]
    if "notSelectable" in wanted:
        properties.append(property_param("notSelectable", not concept.billable, "Boolean"))
    if "billable" in wanted:
        properties.append(property_param("billable", concept.billable, "Boolean"))
    if "chapter" in wanted:
        properties.append(property_param("chapter", concept.chapter, "Code", release.chapter(concept.chapter).title))
    if "block" in wanted:
        properties += [property_param("block", b, "Code", release.block(b).title) for b in concept.blocks]
    seventh_done = False
    for owner, level, source in note_owners(concept):
        entries, seventh = renderer.rendered(owner, level, source)
        properties += [entry for name, entry in entries if everything or name in wanted]
        if seventh and not seventh_done:
            # The nearest 7th-character definition overrides any above it.
            seventh_done = True
            properties += _seventh_character_entries(concept, seventh, level, source, wanted)
    designations = [n["text"] for n in release.notes(concept.code) if n["type"] == "inclusionTerm"]
    return LookupResult(concept.code, concept.display, release.version, properties, designations)
