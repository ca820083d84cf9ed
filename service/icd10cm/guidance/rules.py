"""Rule-derived guidance: what the tabular conventions and the Official Guidelines say about a
code, computed for every code from its title, its place in the hierarchy and its notes.

Each item is a ``rule`` property entry whose subproperties say which rule it is (``rule``), what
it rests on (``basis``: a guideline section and the tabular note), where it comes from
(``level`` and ``source``, as for notes) and the codes it points to (``code``, repeated).
Guideline sections follow the ICD-10-CM Official Guidelines for Coding and Reporting FY2026.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ...fhir.parameters import property_param
from ..codes import seventh_characters

# Note type -> (rule id, guideline basis, what the rule says, with {where} for the note's place).
NOTE_RULES = {
    "excludes1": (
        "excludes1",
        "Official Guidelines I.A.12.a (Excludes1)",
        "Excludes1 note at {where}: the conditions it lists are never reported together with this "
        "code, unless they are unrelated to it; query the provider when that is unclear.",
    ),
    "excludes2": (
        "excludes2",
        "Official Guidelines I.A.12.b (Excludes2)",
        "Excludes2 note at {where}: the conditions it lists are not part of this code; a patient "
        "may have both, and then both may be reported.",
    ),
    "codeFirst": (
        "code-first",
        "Official Guidelines I.A.13 (etiology/manifestation, code first)",
        "Code-first note at {where}: the underlying condition it names is sequenced before this code.",
    ),
    "useAdditionalCode": (
        "use-additional-code",
        "Official Guidelines I.A.13 (use additional code)",
        "Use-additional-code note at {where}: add a code for what it names, after this code.",
    ),
    "codeAlso": (
        "code-also",
        "Official Guidelines I.A.17 (code also)",
        "Code-also note at {where}: a second code may be needed; the order depends on the encounter.",
    ),
}
_MANIFESTATION = re.compile(r"\bin\b.*\bdiseases? classified elsewhere", re.IGNORECASE)
_LATERAL = re.compile(r"\b(right|left|bilateral)\b", re.IGNORECASE)
_UNSPECIFIED = re.compile(r"\bunspecified\b|\bNOS\b", re.IGNORECASE)
_UNSPECIFIED_SIDE = re.compile(
    r"unspecified (side|eye|ear|limb|arm|leg|hand|foot|upper|lower|knee|hip|"
    r"shoulder|elbow|wrist|ankle|kidney|lung|breast|ovary|fallopian|ureter|"
    r"femur|humerus|radius|ulna|tibia|fibula|thigh|finger|toe|great toe)",
    re.IGNORECASE,
)


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
    lateral: bool  # its title names a side


def sibling(code: str, display: str) -> Sibling:
    return Sibling(code, display, bool(_UNSPECIFIED.search(display)), bool(_LATERAL.search(display)))


def note_rules(notes: tuple[dict, ...], level: str, source: str) -> list[Rule]:
    """One rule per kind of cross-reference note declared at ``source``, with every code it cites."""
    where = "this code" if level == "code" else f"{level} {source}"
    items = []
    for kind, (rule_id, basis, text) in NOTE_RULES.items():
        lines = [n for n in notes if n["type"] == kind]
        if lines:
            codes = list(dict.fromkeys(ref for n in lines for ref in n.get("refs", ())))
            items.append(
                Rule(rule_id, text.format(where=where), f"{basis}; tabular note at {source}", level, source, codes)
            )
    return items


def code_rules(
    code: str,
    display: str,
    billable: bool,
    seventh: str | None,
    seventh_owner: str | None,
    children: list[tuple[str, str]],
    base_display: str | None,
    siblings: list[Sibling],
) -> list[Rule]:
    """Rules that follow from the code itself: status, 7th character, placeholder X, unspecified,
    laterality, manifestation. ``siblings`` are the other codes under the same parent (for a
    7th-character code: those of its base); ``base_display`` is the display of a 7th-character
    code's base."""
    items = []
    generated = billable and seventh is not None
    title = base_display if generated and base_display else display
    if not billable and seventh:
        listed = seventh_characters(display, children, seventh)
        items.append(
            Rule(
                "seventh-character",
                f"Not reportable without its 7th character: {listed}.",
                f"Official Guidelines I.A.5 (7th characters); tabular 7th-character table at {seventh_owner}",
                "code",
                code,
                [c for c, _ in children],
            )
        )
    elif not billable:
        items.append(
            Rule(
                "header",
                "A header code, not valid for HIPAA transactions: report a code below it.",
                "Official Guidelines I.B.2 (level of detail in coding)",
                "code",
                code,
                [c for c, _ in children],
            )
        )
    elif generated:
        meaning = display[len(base_display) + 2 :] if base_display else display
        items.append(
            Rule(
                "seventh-character",
                f"The 7th character {seventh} means: {meaning}.",
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
    if _UNSPECIFIED.search(title):
        if _UNSPECIFIED_SIDE.search(title):
            lateral = [s.code for s in siblings if s.lateral]
            if lateral:
                items.append(
                    Rule(
                        "laterality",
                        "The side is unspecified: when the record names the side, report "
                        "the code for that side; for both sides, the bilateral code, or the right and the "
                        "left codes when none exists.",
                        "Official Guidelines I.B.13 (laterality)",
                        "code",
                        code,
                        lateral,
                    )
                )
        specific = [s.code for s in siblings if not s.unspecified]
        if specific:
            items.append(
                Rule(
                    "unspecified",
                    "An unspecified code: acceptable when the record gives no more detail; "
                    "when it does, a more specific code applies.",
                    "Official Guidelines I.A.9 and I.B.18 (unspecified codes)",
                    "code",
                    code,
                    specific,
                )
            )
    elif _LATERAL.search(title):
        items.append(
            Rule(
                "laterality",
                "The code states the side: the record must document it (any clinician's "
                "note may). A bilateral condition with no bilateral code is reported with the right and the "
                "left codes.",
                "Official Guidelines I.B.13 (laterality)",
                "code",
                code,
            )
        )
    if _MANIFESTATION.search(title):
        items.append(
            Rule(
                "manifestation",
                "A manifestation code: never principal or first-listed; the underlying condition is coded first.",
                "Official Guidelines I.A.13 (etiology/manifestation)",
                "code",
                code,
            )
        )
    return items
