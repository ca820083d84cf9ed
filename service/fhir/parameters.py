"""$lookup entries for instructional notes, rendered as serialized FHIR ``Parameters.parameter``.

Notes are shared: the notes of a chapter apply to thousands of codes, those of a category to
all its subcategories. Rendering them once (when a release is loaded, or once per process for
the 7th-character tables) and joining bytes per request keeps a lookup cheap.

Each note property carries subproperties: ``level`` (code | ancestor | block | chapter), where
the note applies from; ``source``, where it is declared; one ``reference`` per code it cites.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

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
}


def part(name: str, value, value_type: str) -> dict:
    return {"name": name, f"value{value_type}": value}


def property_param(
    code: str,
    value,
    value_type: str,
    description: str | None = None,
    subproperties: Iterable[tuple[str, object, str]] = (),
) -> dict:
    parts = [part("code", code, "Code"), part("value", value, value_type)]
    if description is not None:
        parts.append(part("description", description, "String"))
    parts += [
        {"name": "subproperty", "part": [part("code", name, "Code"), part("value", v, t)]}
        for name, v, t in subproperties
    ]
    return {"name": "property", "part": parts}


def serialize(entries: list[dict]) -> bytes:
    """Entries as they appear inside a JSON array, without the brackets (b'' for none)."""
    return orjson.dumps(entries)[1:-1]


def hierarchy_entries(code, codes: dict) -> list[dict]:
    """``parent`` and ``child`` properties, each described by the related code's display."""
    entries = [property_param("parent", code.parent, "Code", codes[code.parent].display)] if code.parent else []
    entries += [property_param("child", c, "Code", codes[c].display) for c in code.children]
    return entries


def note_entries(notes: Iterable[dict], level: str, source: str) -> list[dict]:
    """Property entries for the notes declared at ``source``, as seen from ``level``.

    Inclusion terms are listed only at their own code (as designations and properties);
    7th-character notes are rendered by ``seventh_character_entries``.
    """
    entries = []
    for note in notes:
        kind = note["type"]
        if kind == "inclusionTerm":
            if level != "code":
                continue
            entries.append(
                {"name": "designation", "part": [part("language", "en", "Code"), part("value", note["text"], "String")]}
            )
        elif kind not in NOTE_PROPERTIES:
            continue
        subproperties = [("level", level, "Code"), ("source", source, "Code")]
        subproperties += [("reference", ref, "String") for ref in note.get("refs", ())]
        entries.append(property_param(NOTE_PROPERTIES[kind], note["text"], "String", None, subproperties))
    return entries


def seventh_character_entries(notes: Iterable[dict], level: str, source: str, allowed: str | None) -> list[dict]:
    """The 7th-character note and table declared at ``source``, limited to ``allowed`` characters."""
    where = [("level", level, "Code"), ("source", source, "Code")]
    entries: list[dict] = []
    for note in notes:
        kind = note["type"]
        if kind == "sevenChrNote":
            entries.append(property_param("sevenChrNote", note["text"], "String", None, where))
        elif kind in ("sevenChrDef", "sevenChrInclusionTerm") and (allowed is None or note["char"] in allowed):
            if kind == "sevenChrDef":
                entries.append(property_param("sevenChrDef", note["char"], "Code", note["text"], where))
            elif entries:  # an inclusion term of the character just listed
                entries[-1]["part"].append(
                    {
                        "name": "subproperty",
                        "part": [part("code", "inclusionTerm", "Code"), part("value", note["text"], "String")],
                    }
                )
    return entries
