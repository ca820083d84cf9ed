"""Read the CDC ICD-10-CM tabular XML into plain records.

The rules (see ``shared/reference/icd10cm-data.md``):

* chapters and blocks (``section``) are groupings, not codes; empty "super-blocks" such as
  M40-M54 are siblings in the XML and are nested back by range containment;
* a ``sevenChrDef`` applies to every leaf below it and the nearest definition wins; each such
  leaf is padded to six characters with ``X`` and gets one child per 7th character, and itself
  becomes a header;
* billable = a leaf that needs no 7th character, or a generated 7th-character code;
* note elements can repeat, so every element is read with ``findall``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import IO

from .free_text_rules import allowed_seventh_characters
from .references import category_references, parse_references, qualified_references, resolve_qualified

# The note elements of the tabular (sevenChrDef is read separately).
NOTE_TYPES = (
    "inclusionTerm",
    "includes",
    "excludes1",
    "excludes2",
    "codeFirst",
    "useAdditionalCode",
    "codeAlso",
    "notes",
    "sevenChrNote",
)
_CROSS_REFERENCE_TYPES = {"excludes1", "excludes2", "codeFirst", "useAdditionalCode", "codeAlso", "notes", "includes"}
# The words a note element stands for. A line that goes on from them ("Code first" + ", if applicable,
# postprocedural sepsis (T81.44-)") is kept as the whole sentence.
_ELEMENT_WORDS = {
    "includes": "Includes",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "codeFirst": "Code first",
    "useAdditionalCode": "Use additional code",
    "codeAlso": "Code also",
}
_RANGE_IN_TITLE = re.compile(r"\(([A-Z][0-9A-Z]{2})-([A-Z][0-9A-Z]{2})\)\s*$")
_WHITESPACE = re.compile(r"\s+")


@dataclass
class Note:
    type: str
    text: str
    refs: list[str] = field(default_factory=list)
    char: str | None = None  # for sevenChrDef entries: the 7th character
    # (base references, qualifier, as written) read from the text, resolved into ``refs`` once every code is known
    qualified: list[tuple[list[str], str, str]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # categories named in words, kept if they exist

    def as_record(self) -> dict:
        record: dict = {"type": self.type, "text": self.text}
        if self.refs:
            record["refs"] = self.refs
        if self.char is not None:
            record["char"] = self.char
        return record


@dataclass
class Chapter:
    number: str
    title: str
    first: str
    last: str
    notes: list[Note]


@dataclass
class Block:
    id: str
    title: str
    chapter: str
    first: str
    last: str
    notes: list[Note]


@dataclass
class Code:
    code: str
    display: str
    parent: str | None
    chapter: str
    blocks: list[str]  # innermost first, then the super-blocks that span it
    notes: list[Note]
    children: list[str] = field(default_factory=list)
    billable: bool = False
    # For a header that needs a 7th character: the allowed characters.
    # For a generated code: its own 7th character.
    seventh: str | None = None
    seventh_owner: str | None = None  # the code whose sevenChrDef applies
    placeholder: bool = False

    @property
    def generated(self) -> bool:
        """A code made of its base and a 7th character (S13.4XXA)."""
        return self.seventh is not None and len(self.seventh) == 1 and self.billable


@dataclass
class Tabular:
    fiscal_year: str
    chapters: dict[str, Chapter]
    blocks: dict[str, Block]
    codes: dict[str, Code]  # in tabular order; generated codes follow their base

    @property
    def billable_count(self) -> int:
        return sum(1 for c in self.codes.values() if c.billable)


def _text(element: ET.Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return _WHITESPACE.sub(" ", element.text).strip()


def _notes(element: ET.Element) -> list[Note]:
    notes: list[Note] = []
    for child in element:
        if child.tag in NOTE_TYPES:
            for line in child.findall("note"):
                text = _text(line)
                if not text:
                    continue
                if text.startswith(",") and child.tag in _ELEMENT_WORDS:
                    text = _ELEMENT_WORDS[child.tag] + text
                cross = child.tag in _CROSS_REFERENCE_TYPES
                refs = parse_references(text) if cross else []
                named = category_references(text) if child.tag in _ELEMENT_WORDS else []
                notes.append(
                    Note(child.tag, text, refs, qualified=qualified_references(text) if cross else [], categories=named)
                )
        elif child.tag == "sevenChrDef":
            notes.extend(_seventh_character_table(child))
    return notes


def _seventh_character_table(definition: ET.Element) -> list[Note]:
    """The 7th-character table; a ``<note>`` after an extension is an inclusion term for it."""
    table: list[Note] = []
    for item in definition:
        if item.tag == "extension":
            table.append(Note("sevenChrDef", _text(item), char=item.get("char", "").strip()))
        elif item.tag == "note" and table and _text(item):
            table.append(Note("sevenChrInclusionTerm", _text(item), char=table[-1].char))
    return table


def _range(identifier: str) -> tuple[str, str]:
    first, _, last = identifier.partition("-")
    return first, last or first


def parse(source: IO[bytes] | str) -> Tabular:
    root = ET.parse(source).getroot()
    if root.tag != "ICD10CM.tabular":
        raise ValueError(f"not an ICD-10-CM tabular file (root element <{root.tag}>)")
    fiscal_year = _text(root.find("version"))
    chapters: dict[str, Chapter] = {}
    blocks: dict[str, Block] = {}
    codes: dict[str, Code] = {}

    for chapter_el in root.findall("chapter"):
        number = _text(chapter_el.find("name"))
        title = _text(chapter_el.find("desc"))
        match = _RANGE_IN_TITLE.search(title)
        first, last = match.groups() if match else ("", "")
        chapters[number] = Chapter(number, title, first, last, _notes(chapter_el))
        sections = chapter_el.findall("section")
        for section in sections:
            block_id = section.get("id", "").strip()
            first, last = _range(block_id)
            blocks[block_id] = Block(block_id, _text(section.find("desc")), number, first, last, _notes(section))
        for section in sections:
            block_id = section.get("id", "").strip()
            for category in section.findall("diag"):
                name = _text(category.find("name"))
                spanning = [
                    b for b in blocks.values() if b.chapter == number and b.id != block_id and b.first <= name <= b.last
                ]
                # Innermost first: a nested block starts no earlier and ends no later.
                spanning.sort(key=lambda b: b.last)
                spanning.sort(key=lambda b: b.first, reverse=True)
                chain = [block_id] + [b.id for b in spanning]
                _walk(category, None, number, chain, None, codes)
    _resolve_qualified([*chapters.values(), *blocks.values(), *codes.values()], codes)
    return Tabular(fiscal_year, chapters, blocks, codes)


def _is_category_reference(ref: str, codes: dict[str, Code]) -> bool:
    first, _, last = ref.rstrip("-").partition("-")
    return first in codes and (not last or last in codes)


def _resolve_qualified(owners, codes: dict[str, Code]) -> None:
    """Qualified references ("E08-E13 with .42") become the exact codes they mean."""
    children = {code: c.children for code, c in codes.items()}
    ordered = sorted(codes)
    resolved: dict[tuple, list[str]] = {}
    for owner in owners:
        for note in owner.notes:
            found = [ref for ref in note.categories if _is_category_reference(ref, codes)]
            for bases, qualifier, written in note.qualified:
                key = (tuple(bases), qualifier, written)
                if key not in resolved:  # the same reference recurs (T36-T50 with ... 5: in 92 notes)
                    resolved[key] = resolve_qualified(bases, qualifier, children, ordered, written) or []
                found += resolved[key]
            note.refs += [ref for ref in dict.fromkeys(found) if ref not in note.refs]


def _walk(
    element: ET.Element,
    parent: str | None,
    chapter: str,
    blocks: list[str],
    inherited_seventh: tuple[str, list[Note]] | None,
    codes: dict[str, Code],
) -> None:
    name = _text(element.find("name"))
    notes = _notes(element)
    own_table = [n for n in notes if n.type in ("sevenChrDef", "sevenChrInclusionTerm")]
    seventh = (name, own_table) if own_table else inherited_seventh
    code = Code(
        code=name,
        display=_text(element.find("desc")),
        parent=parent,
        chapter=chapter,
        blocks=blocks,
        notes=notes,
        placeholder=element.get("placeholder") == "true",
    )
    codes[name] = code
    if parent is not None:
        codes[parent].children.append(name)
    child_elements = element.findall("diag")
    for child in child_elements:
        _walk(child, name, chapter, blocks, seventh, codes)
    if child_elements:
        return
    if seventh is None or len(name.replace(".", "")) >= 7:
        code.billable = True
        return
    owner, table = seventh
    allowed = allowed_seventh_characters(
        name, [n.char for n in table if n.type == "sevenChrDef" and n.char is not None], codes
    )
    code.seventh, code.seventh_owner = "".join(allowed), owner
    base = name if "." in name else name + "."
    base = base.ljust(7, "X")
    meanings = {n.char: n.text for n in table if n.type == "sevenChrDef"}
    for char in allowed:
        generated = Code(
            code=base + char,
            display=f"{code.display}, {meanings[char]}",
            parent=name,
            chapter=chapter,
            blocks=blocks,
            notes=[],
            billable=True,
            seventh=char,
            seventh_owner=owner,
        )
        codes[generated.code] = generated
        code.children.append(generated.code)
