"""What a code's page shows, read from the properties of the same $lookup answer FHIR clients get (so
the page and the API cannot disagree), plus the code's place in the hierarchy. No Flask here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import orjson
from markupsafe import Markup, escape

from ..icd10cm.codes import ICD10CM
from ..icd10cm.hcc import MODEL_NAMES as HCC_MODEL_NAMES
from ..icd10cm.model import LookupResult
from ..icd10cm.operations import Icd10cm
from ..icd10cm.store.reader import ConceptRow

# Notes of the tabular, in the order a coder reads them, with their headings.
NOTE_SECTIONS = (
    ("includes", "Includes"),
    ("inclusionTerm", "Inclusion terms"),
    ("note", "Notes"),
    ("excludes1", "Excludes1: never coded together"),
    ("excludes2", "Excludes2: not included here, may be coded together"),
    ("codeFirst", "Code first"),
    ("useAdditionalCode", "Use additional code"),
    ("codeAlso", "Code also"),
    ("sevenChrNote", "7th character note"),
    ("sevenChrDef", "7th characters"),
)
_CODE = re.compile(r"\b[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?\b")
# A range of categories (M50-M54) is one thing, a block, not two codes; or a code alone.
_MENTION = re.compile(r"\b(?P<range>[A-Z][0-9][0-9A-Z]-[A-Z][0-9][0-9A-Z])\b|" + _CODE.pattern)
_END = "\x7f"  # sorts after every character of a code


@dataclass
class Item:
    """One property of the answer: its value, description and subproperties."""

    value: object
    description: str | None = None
    subs: dict[str, list] = field(default_factory=dict)

    def sub(self, name: str):
        values = self.subs.get(name)
        return values[0] if values else None


def properties(result: LookupResult) -> dict[str, list[Item]]:
    """The answer's properties by code: its guidance entries and its tabular ones (the extension that
    repeats the guidance is not needed here)."""
    pieces = [result.guidance.entries] if result.guidance and result.guidance.entries else []
    if result.pieces:
        pieces.append(result.entries)
    found: dict[str, list[Item]] = {}
    for entry in orjson.loads(b"[" + b",".join(pieces) + b"]"):
        if entry["name"] != "property":
            continue
        parts = {}
        subs: dict[str, list] = {}
        for part in entry["part"]:
            if part["name"] == "subproperty":
                inner = {p["name"]: _value(p) for p in part["part"]}
                subs.setdefault(inner["code"], []).append(inner["value"])
            else:
                parts[part["name"]] = _value(part)
        found.setdefault(parts["code"], []).append(Item(parts.get("value"), parts.get("description"), subs))
    return found


def _value(part: dict):
    """The value[x] of a part (its one key besides "name")."""
    for key, value in part.items():
        if key != "name":
            return value
    return None


def code_page(engine: Icd10cm, code: str, version: str | None = None) -> dict:
    """Everything the code's page shows (raises the engine's NotFound for an unknown code or release)."""
    result = engine.lookup(ICD10CM, code, version=version, properties=["*"])  # every risk adjustment model too
    found = properties(result)
    release = engine.releases.resolve(result.version)
    concept = _row(release, result.code)
    ancestors = [(a, _row(release, a).display) for a in reversed(concept.ancestors)]
    # A billable code with a 7th character holds its own character; a header holds the ones it needs.
    seventh = concept.seventh if concept.billable and concept.seventh else None
    authored = any(name in found for name in ("summary", "documentation", "pitfall", "clinicalContext", "faq"))
    return {
        "code": result.code,
        "display": result.display,
        "version": result.version,
        "authored": authored,
        "billable": bool(concept.billable),
        "seventh": next((i for i in found.get("sevenChrDef", ()) if i.value == seventh), None),
        "needs_seventh": bool(concept.seventh) and not concept.billable,
        "chapter": _first(found, "chapter"),
        "blocks": found.get("block", []),
        "ancestors": ancestors,
        "children": found.get("child", []),
        "summary": _value_of(found, "summary"),
        "scope": _first(found, "scope"),
        "region": _value_of(found, "region"),
        "documentation": found.get("documentation", []),
        "pitfalls": found.get("pitfall", []),
        "clinical_context": found.get("clinicalContext", []),
        "procedures": found.get("procedure", []),
        "more_specific": found.get("moreSpecific", []),
        "additional_codes": found.get("additionalCode", []),
        "faqs": found.get("faq", []),
        "scribe": found.get("scribe", []),
        "sources": found.get("source", []),
        "verified": _first(found, "verified"),
        "first_listed": _first(found, "firstListed"),
        "rules": found.get("rule", []),
        "siblings": found.get("sibling", []),
        "notes": [(heading, found[name]) for name, heading in NOTE_SECTIONS if name in found],
        "changes": found.get("change", []),
        "timeline": timeline(engine, result.code) if len(engine.history.releases) > 1 else [],
        "risk_adjustment": [(HCC_MODEL_NAMES[m], item) for m in HCC_MODEL_NAMES for item in found.get(m, [])],
        # The families of its V28 categories first, then what holds for every risk-adjusting diagnosis.
        "risk_guidance": sorted(found.get("riskAdjustment", []), key=lambda item: item.value == "general"),
    }


def timeline(engine: Icd10cm, code: str) -> list[dict]:
    """The code in each loaded release, oldest first: its period, and whether it was billable, a header or
    no code at all, with its title there."""
    rows = []
    for release in engine.history.releases:
        held = release.concept(code)
        status = "not a code" if held is None else "billable" if held.billable else "header (not billable)"
        rows.append(
            {
                "version": release.version,
                "start": release.effective,
                "end": release.ends,
                "status": status,
                "display": held.display if held else None,
            }
        )
    return rows


def _row(release, code: str) -> ConceptRow:
    """A code the lookup just found, or one of its ancestors: in the release by construction."""
    row = release.concept(code)
    if row is None:
        raise LookupError(f"{code} vanished from release {release.version}")
    return row


def _first(found: dict, name: str) -> Item | None:
    items = found.get(name)
    return items[0] if items else None


def _value_of(found: dict, name: str):
    item = _first(found, name)
    return item.value if item else None


def link_codes(text: str, exists, href, block_href=lambda block: None) -> Markup:
    """``text`` as HTML in which every code it mentions links to ``href(code)``, only codes that ``exists``
    knows ("vitamin B12" is no code), and every range of categories to ``block_href(range)``, when that is a
    block (a range that is not stays text: it is not two codes)."""

    def link(match: re.Match) -> str:
        mention = match.group()
        target = block_href(mention) if match.group("range") else href(mention) if exists(mention) else None
        return f'<a href="{escape(target)}">{mention}</a>' if target else mention

    # Escaped first: codes are letters, digits and a dot, which escaping leaves alone.
    return Markup(_MENTION.sub(link, str(escape(text))))


def block_page(engine: Icd10cm, block: str, version: str | None = None) -> dict | None:
    """What a block's page shows: its title, its chapter, and the categories in it (None: no such block)."""
    release = engine.releases.resolve(version)
    found = release.groupings.get(f"block:{block}")
    if found is None:
        return None
    chapter = release.groupings.get(f"chapter:{found.chapter}")
    _, categories = release.select("c.parent IS NULL AND c.code >= ? AND c.code < ?", (found.first, found.last + _END))
    blocks = [g for g in release.groupings.values() if g.kind == "block" and g.id != found.id]
    within = [(g.id, g.title) for g in blocks if found.first <= g.first and g.last <= found.last]
    around = [(g.id, g.title) for g in blocks if g.first <= found.first and found.last <= g.last]
    return {
        "id": found.id,
        "title": found.title.removesuffix(f" ({found.id})"),
        "version": release.version,
        "chapter": (found.chapter, chapter.title if chapter else ""),
        "around": around,
        "blocks": within,
        "categories": [(c, d) for c, d, _ in categories],
    }
