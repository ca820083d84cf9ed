"""Rule-derived guidance: what the tabular conventions and the Official Guidelines say about a
code, computed for every code from its title, its place in the hierarchy and its notes.

Each item is a ``rule`` property entry whose subproperties say which rule it is (``rule``), what
it rests on (``basis``: a guideline section and the tabular note), where it comes from
(``level`` and ``source``, as for notes) and the codes it points to (``code``, repeated).
Guideline sections follow the ICD-10-CM Official Guidelines for Coding and Reporting FY2026.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from ...fhir.parameters import property_param
from ..codes import seventh_characters
from .sequencing import ADVERSE_EFFECT, POISONING, UNDERDOSING, placement, sequencing_text
from .specificity import SIDE, axes, axis, more_specific, statement

# Note type -> (rule id, guideline basis, the statement, with {where} for the note's place and {items} for
# what the note lists, in the tabular's words).
NOTE_RULES = {
    "excludes1": (
        "excludes1",
        "Official Guidelines I.A.12.a (Excludes1)",
        "Excludes1 at {where}: not reported together with this code: {items}. Both are reported only when "
        "the two conditions are unrelated; ask the provider when the record leaves that unclear.",
    ),
    "excludes2": (
        "excludes2",
        "Official Guidelines I.A.12.b (Excludes2)",
        "Excludes2 at {where}: not part of this code, and reported as well when the patient also has it: {items}.",
    ),
    "codeFirst": (
        "code-first",
        "Official Guidelines I.A.13 and I.B.7 (code first)",
        "Code first (note at {where}): when the record documents it, sequence before this code: {items}.",
    ),
    "useAdditionalCode": (
        "use-additional-code",
        "Official Guidelines I.A.13 and I.B.7 (use additional code)",
        "Use additional code (note at {where}): when the record documents it, add after this code: {items}.",
    ),
    "codeAlso": (
        "code-also",
        "Official Guidelines I.A.17 (code also)",
        "Code also (note at {where}): a second code may be needed, in the order the encounter calls for: {items}.",
    ),
}
# The words a note element stands for, which some of its lines repeat ("Code first, if applicable, ...").
_ELEMENT_WORDS = {"codeFirst": "Code first", "useAdditionalCode": "Use additional code", "codeAlso": "Code also"}
# Within T36-T50, note lines that speak of one kind of drug event apply to codes of that kind only.
_KIND_WORDS = {"poisoning": POISONING, "adverse effect": ADVERSE_EFFECT, "underdosing": UNDERDOSING}
_LATERAL = SIDE
_UNSPECIFIED = re.compile(r"\bunspecified\b|\bNOS\b", re.IGNORECASE)


class Rule(NamedTuple):
    rule: str  # the rule id
    text: str
    basis: str
    level: str
    source: str
    codes: tuple[str, ...] | list[str] = ()

    def entry(self) -> dict:
        """As a $lookup ``rule`` property."""
        subproperties = [
            ("rule", self.rule, "Code"),
            ("basis", self.basis, "String"),
            ("level", self.level, "Code"),
            ("source", self.source, "Code"),
        ]
        subproperties += [("code", code, "String") for code in self.codes]
        return property_param("rule", self.text, "String", None, subproperties)

    def extension(self) -> dict:
        """As a ``rule`` item of the guidance extension: what ``fhir.extension_items`` makes of
        ``entry()``, built directly because a code's own rules are built on every request."""
        nested = [
            {"url": "value", "valueString": self.text},
            {"url": "rule", "valueCode": self.rule},
            {"url": "basis", "valueString": self.basis},
            {"url": "level", "valueCode": self.level},
            {"url": "source", "valueCode": self.source},
        ]
        nested += [{"url": "code", "valueString": code} for code in self.codes]
        return {"url": "rule", "extension": nested}


class Sibling(NamedTuple):
    code: str
    display: str
    unspecified: bool  # its title says unspecified (or NOS)
    side: str | None  # the side its title names: right, left or bilateral
    billable: bool = True

    @property
    def reference(self) -> str:
        """The code as a reference: ``CODE-`` for a header (it and the codes below it)."""
        return self.code if self.billable else f"{self.code}-"

    @property
    def lateral(self) -> bool:
        return self.side is not None


def sibling(code: str, display: str, billable: bool = True) -> Sibling:
    return Sibling(code, display, bool(_UNSPECIFIED.search(display)), side_of(display), billable)


def note_elements(
    notes: tuple[dict, ...], kind: str, starts: Callable[[dict], bool] = lambda note: False
) -> list[list[dict]]:
    """The notes of each element of one type, in tabular order: consecutive notes of that type make one (a
    lead-in line and its items), unless ``starts`` says a note begins an element of its own."""
    elements: list[list[dict]] = []
    previous = None
    for note in notes:
        if note["type"] != kind:
            previous = None
            continue
        if previous is None or starts(note):
            elements.append([])
        elements[-1].append(note)
        previous = note
    return elements


def _elements(notes: tuple[dict, ...], kind: str) -> list[list[str]]:
    """The lines of each note element of one type."""
    return [[note["text"] for note in element] for element in note_elements(notes, kind)]


def _speaks_of(text: str) -> str | None:
    lowered = text.lower()
    found = [kind for words, kind in _KIND_WORDS.items() if words in lowered]
    return found[0] if len(found) == 1 else None


def _for_kind(lines: list[str], drug: str | None) -> list[str]:
    """The lines of an element that apply to a drug event of kind ``drug`` (all of them when None)."""
    if drug is None:
        return lines
    lead = _speaks_of(lines[0])
    if lead is not None and lead != drug:
        return []  # "Code first, for adverse effects, ..." is not for a poisoning
    head = lines[:1] if lines[0].endswith(":") else []
    items = [line for line in lines[len(head) :] if _speaks_of(line) in (None, drug)]
    return head + items if items else []


def _items(lines: list[str], element: str) -> str:
    """What an element lists, as one phrase: "lead-in: item; item" in the tabular's own words."""
    words = _ELEMENT_WORDS.get(element)
    cleaned = []
    for line in lines:
        if words and line.startswith(words + ","):
            line = line[len(words) + 1 :].strip()
        cleaned.append(line.rstrip("."))
    if len(cleaned) > 1 and cleaned[0].endswith(":"):
        return cleaned[0] + " " + "; ".join(cleaned[1:])
    return "; ".join(cleaned)


def code_first_phrases(notes: tuple[dict, ...], drug: str | None = None) -> list[str]:
    """What each code-first element among ``notes`` asks to code first, as one phrase."""
    return [_items(kept, "codeFirst") for lines in _elements(notes, "codeFirst") if (kept := _for_kind(lines, drug))]


def note_rules(notes: tuple[dict, ...], level: str, source: str, drug: str | None = None) -> list[Rule]:
    """One rule per kind of cross-reference note declared at ``source``, naming what it lists, with every
    code it cites. ``drug``: the drug event a T36-T50 code stands for, whose notes apply to it alone."""
    place = where(level, source)
    items = []
    for element, (rule_id, basis, text) in NOTE_RULES.items():
        lines = [line for lines in _elements(notes, element) for line in _for_kind(lines, drug)]
        if not lines:
            continue
        kept = set(lines)
        codes = list(
            dict.fromkeys(ref for n in notes if n["type"] == element and n["text"] in kept for ref in n.get("refs", ()))
        )
        statement = text.format(where=place, items=_items(lines, element))
        items.append(Rule(rule_id, statement, f"{basis}; tabular note at {source}", level, source, codes))
    return items


def side_of(title: str) -> str | None:
    found = _LATERAL.search(title)
    return found.group(1).lower() if found else None


def where(level: str, source: str) -> str:
    """A note's place in words: this code, category K29, subcategory K29.7, block K20-K31, chapter 11."""
    if level == "code":
        return "this code"
    if level == "ancestor":
        return f"{'category' if len(source) == 3 else 'subcategory'} {source}"
    return f"{level} {source}"


def _with_seventh(base: str, char: str) -> str:
    """A base code completed by a 7th character (short bases padded with the placeholder X)."""
    category, _, rest = base.partition(".")
    return f"{category}.{rest.ljust(3, 'X')}{char}"


def code_rules(
    code: str,
    display: str,
    billable: bool,
    seventh: str | None,
    seventh_owner: str | None,
    children: list[tuple[str, str]],
    base_display: str | None,
    siblings: list[Sibling],
    *,
    chapter: str = "",
    manifest: tuple[str, str] | None = None,
    usage: tuple[str, str] | None = None,
    code_first: tuple[tuple[str, str], ...] = (),
    seventh_meaning: str | None = None,
    levels: tuple[tuple[Sibling, ...], ...] = (),
    below_codes: tuple[Sibling, ...] = (),
    seventh_sides: tuple[tuple[str, str], ...] = (),
    seventh_of: Callable[[str], str | None] = lambda code: None,
) -> tuple[str | None, list[Rule]]:
    """(firstListed, rules) that follow from the code itself: where it may stand, sequencing, status, 7th
    character, placeholder X, unspecified, laterality. ``siblings`` are the other codes under the same
    parent (for a 7th-character code: those of its base); ``base_display`` is the display of a
    7th-character code's base; ``manifest`` the (code, title) of the code or the nearest code above it
    titled as a manifestation; ``code_first``
    the (source, text) of the code-first lines that apply to it; ``seventh_meaning`` what its 7th
    character means, from its 7th-character table; ``levels`` the siblings of each unspecified level above
    the code; ``below_codes`` a header's children; ``seventh_sides`` the (code, side) of the 7th-character
    completions of a code's base whose 7th character names a side (E10.321: 1 right eye, 2 left, 3 bilateral);
    ``seventh_of`` the 7th characters a sibling base takes (None for a header with codes below it)."""
    items = []
    generated = billable and seventh is not None
    title = base_display if generated and base_display else display
    placed = placement(code, manifest, list(code_first), usage)
    if placed is not None:
        items.append(Rule(placed.rule, placed.text, placed.basis, "code", code))
    sequenced = sequencing_text(code, chapter)
    if sequenced is not None:
        items.append(Rule(sequenced[0], sequenced[1], sequenced[2], "code", code))
    if not billable and seventh:
        listed = seventh_characters(display, children, seventh)
        items.append(
            Rule(
                "seventh-character",
                f"Not reportable without its 7th character: {listed}.",
                "Official Guidelines I.A.2 and I.A.5 (a code without its 7th character is invalid); tabular "
                f"7th-character table at {seventh_owner}",
                "code",
                code,
                [c for c, _ in children],
            )
        )
    elif not billable:
        below = axes(display, [(s.reference, s.display) for s in below_codes])
        items.append(
            Rule(
                "header",
                "A header code, not valid for HIPAA transactions: report a code below it. To reach one, the "
                f"record must state {statement(below)}.",
                "Official Guidelines I.B.2 (level of detail in coding)",
                "code",
                code,
                [c for c, _ in children],
            )
        )
    elif generated and seventh_meaning:
        items.append(
            Rule(
                "seventh-character",
                f"The 7th character {seventh} means: {seventh_meaning}.",
                f"Official Guidelines I.A.5 (7th characters); tabular 7th-character table at {seventh_owner}",
                "code",
                code,
            )
        )
    if "X" in code[1:]:
        items.append(
            Rule(
                "placeholder",
                "The X in this code is a placeholder: it must be kept, or the code is invalid.",
                "Official Guidelines I.A.4 and I.A.5 (placeholder character)",
                "code",
                code,
            )
        )

    # A 7th-character code's siblings are its base's: complete them with the same 7th character, name the
    # header when a sibling has codes below it (H40.11- beside H40.10X0), and leave out a sibling that does
    # not take this 7th character (S06.307 takes only A).
    def reported(sibling: Sibling) -> str | None:
        if not (generated and seventh):
            return sibling.code
        chars = seventh_of(sibling.code)
        if chars is None:
            return f"{sibling.code}-"
        return _with_seventh(sibling.code, seventh) if seventh in chars else None

    # The side: in the title, or in the 7th character (E10.3211 "right eye").
    lateral = [(c, s.side) for s in siblings if s.side and (c := reported(s))] or [
        (c, s) for c, s in seventh_sides if c != code
    ]
    side = side_of(title) or (side_of(seventh_meaning) if seventh_meaning else None)
    if side is not None:
        bilateral = [c for c, s in lateral if s == "bilateral"]
        also = (
            f" A bilateral code exists: {', '.join(bilateral)}."
            if bilateral and side != "bilateral"
            else " With no bilateral code, a condition of both sides is reported with the right and the left codes."
            if side != "bilateral"
            else ""
        )
        items.append(
            Rule(
                "laterality",
                f"The code states the side ({side}): the record must document it (any clinician's note may).{also}",
                "Official Guidelines I.B.13 (laterality)",
                "code",
                code,
                bilateral,
            )
        )
    elif lateral:
        items.append(
            Rule(
                "laterality",
                "The side is not stated: when the record names it, report the code for that side ("
                + ", ".join(f"{c} {s}" for c, s in lateral)
                + "); a condition of both sides takes the bilateral code, or the right and the left codes when "
                "there is none.",
                "Official Guidelines I.B.13 (laterality)",
                "code",
                code,
                [c for c, _ in lateral],
            )
        )
    if _UNSPECIFIED.search(title):
        # The siblings, then (while the level above is itself unspecified, as J45.90 "Unspecified asthma"
        # under J45.9 "Other and unspecified asthma") the siblings of each level above.
        candidates = [
            (c, s.display)
            for s in siblings
            if more_specific(title, s.display) and (c := reported(s) if generated else s.reference)
        ]
        candidates += [
            (s.reference, s.display) for level in levels for s in level if more_specific(title, s.display, False)
        ]
        if side is not None:  # the side is stated: the other sides are not more specific, only different
            candidates = [(c, d) for c, d in candidates if axis(title, d) != "side"]
        if candidates:
            items.append(
                Rule(
                    "unspecified",
                    "An unspecified code: acceptable when the record gives no more detail. A more specific "
                    f"code needs the record to state {statement(axes(title, candidates))}.",
                    "Official Guidelines I.A.9 and I.B.18 (unspecified codes)",
                    "code",
                    code,
                    [c for c, _ in candidates],
                )
            )
    return (placed.value if placed else None), items
