"""Where a code may stand on a claim (``firstListed``: never, only, or either), and the sequencing rules
that decide it, from the Official Guidelines FY2026 and the tabular.

- Manifestation codes, titled "in diseases classified elsewhere" themselves or by a category or
  subcategory above them, are never first-listed (I.A.13).
- External cause codes (chapter 20, V00-Y99) are never first-listed (I.C.20.a.6).
- T36-T50 tell by their 6th character what happened (I.C.19.e.5): 1-4 a poisoning (coded first, its
  manifestations after it), 5 an adverse effect (the nature of the effect first, never this code), 6 an
  underdosing (the condition it caused first, never this code).
- Z codes named in I.C.21.c.16 may only be first-listed; a Z code whose tabular note tells to code
  another condition first (a status or factor of that condition) is never first-listed, nor are the status
  codes I.C.21.c.3 allows only beside another diagnosis (Z33.1, Z68).
- A tabular note can say where a code stands: "supplementary or additional codes" (B95-B97) and "for use as
  an additional code" (Z37) make it never first-listed; "for use as a single diagnosis code" (O80) makes it
  the only diagnosis of its chapter, always first-listed (I.C.15.n.1).
- Chapter 15 codes go before codes of other chapters, on the maternal record only (I.C.15.a.1-2); chapter
  16 codes are never on the maternal record and may be used at any age (I.C.16.a.1-2).

Everything is derived from the code, its titles and its notes; the only lists are the guideline's own
(I.C.21.c.16, and the two status codes of I.C.21.c.3 that are secondary only).
"""

from __future__ import annotations

import re
from typing import NamedTuple

NEVER, ONLY = "never", "only"
# The rule ids whose rule fixes the place (their basis is the firstListed property's): never, or only.
ONLY_RULES = frozenset({"z-first-listed", "single-diagnosis"})
PLACEMENT_RULES = ONLY_RULES | {
    "external-cause",
    "manifestation",
    "supplementary",
    "adverse-effect",
    "underdosing",
    "z-secondary",
    "additional-only",
}

# I.C.21.c.16: Z codes and categories that may only be principal/first-listed (unless encounters of one day
# are combined in one record), with the codes the guideline excepts.
ONLY_FIRST_LISTED: dict[str, tuple[str, ...]] = {
    "Z00": ("Z00.6",),
    "Z01": (),
    "Z02": (),
    "Z04": (),
    "Z31.81": (),
    "Z31.83": (),
    "Z31.84": (),
    "Z33.2": (),
    "Z34": (),
    "Z38": (),
    "Z39": (),
    "Z40": (),
    "Z42": (),
    "Z51.0": (),
    "Z51.1": (),
    "Z52": ("Z52.9",),
    "Z76.1": (),
    "Z76.2": (),
    "Z99.12": (),
}
# I.C.21.c.3: status codes the guideline allows only beside another diagnosis -> what the guideline asks.
SECONDARY_ONLY: dict[str, tuple[str, str]] = {
    "Z33.1": (
        "a pregnancy that does not complicate the reason for the visit, reported after the code of that reason; "
        "when the pregnancy does bear on the encounter, a chapter 15 code is used instead",
        "Official Guidelines I.C.21.c.3 (Z33.1) and I.C.15.a.1 (a pregnancy incidental to the encounter)",
    ),
    "Z68": (
        "reported only with an associated reportable diagnosis that the patient's provider documents (such as "
        "obesity, malnutrition or anorexia), after it, and never during pregnancy; the BMI value itself may come "
        "from another clinician's note, and with values that change during the encounter the most severe is coded",
        "Official Guidelines I.C.21.c.3 (Z68) and I.B.14 (documentation by clinicians other than the provider)",
    ),
}
# Tabular notes that say where a code stands (the note kind -> its words).
USAGE_NOTES = {
    "supplementary": re.compile(r"\bsupplementary or additional codes?\b", re.IGNORECASE),  # B95-B97
    "additional": re.compile(r"\bfor use as an additional code\b", re.IGNORECASE),  # Z37
    "single": re.compile(r"\bfor use as a single diagnosis code\b", re.IGNORECASE),  # O80
}
# "in (...) diseases classified elsewhere" and its variants: "in conditions ...", "due to diseases ...".
_MANIFESTATION = re.compile(
    r"\b(in|due to)\b.*\b(diseases?|conditions?|reactions?) classified elsewhere", re.IGNORECASE
)
# "Code first, if applicable, ...", "code first any routine childhood examination": only when there is one.
_CONDITIONAL = re.compile(r"\bif (applicable|known|present|any)\b|^any\b|\bany associated\b", re.IGNORECASE)

# T36-T50: the 6th character -> what happened.
POISONING, ADVERSE_EFFECT, UNDERDOSING = "poisoning", "adverse-effect", "underdosing"
_DRUG_KINDS = {"1": POISONING, "2": POISONING, "3": POISONING, "4": POISONING, "5": ADVERSE_EFFECT, "6": UNDERDOSING}


class Placement(NamedTuple):
    """Where the code may stand (``never`` or ``only`` first-listed), why, and on what it rests."""

    value: str
    rule: str  # the rule id of the family that decided it
    text: str
    basis: str


def drug_kind(code: str) -> str | None:
    """Poisoning, adverse effect or underdosing, for a code of T36-T50 that has its 6th character."""
    plain = code.replace(".", "")
    if not ("T36" <= plain[:3] <= "T50") or len(plain) < 6:
        return None
    return _DRUG_KINDS.get(plain[5])


def is_manifestation_title(title: str) -> bool:
    return bool(_MANIFESTATION.search(title))


def conditional(text: str) -> bool:
    """A note that applies only when its condition holds ("code first, if applicable, ...")."""
    return bool(_CONDITIONAL.search(text))


def usage_note(text: str) -> str | None:
    """The kind of a tabular note that says where a code stands (``USAGE_NOTES``), if it is one."""
    return next((kind for kind, words in USAGE_NOTES.items() if words.search(text)), None)


def placement(
    code: str,
    manifest: tuple[str, str] | None,
    code_first: list[tuple[str, str]],
    usage: tuple[str, str] | None = None,
) -> Placement | None:
    """``manifest``: (code, title) of the code, or the nearest code above it, titled as a manifestation;
    ``code_first``: (where, phrase) of the code-first notes that apply to it, nearest first;
    ``usage``: (kind, where) of the nearest note that says where the code stands (``USAGE_NOTES``)."""
    kind, source = usage if usage is not None else (None, "")
    if code[:1] in "VWXY":
        return Placement(
            NEVER,
            "external-cause",
            "An external cause code: it tells how, where or why the injury or condition happened, and is "
            "never principal or first-listed. Report it after the code of the injury or condition it explains.",
            "Official Guidelines I.C.20.a.6 (external cause codes never first-listed)",
        )
    if manifest is not None:
        where = "this code" if manifest[0] == code else f"{manifest[0]} ({manifest[1]})"
        return Placement(
            NEVER,
            "manifestation",
            f"A manifestation code (so titled at {where}): never principal or first-listed. Code the "
            "underlying disease first, then this code.",
            "Official Guidelines I.A.13 (etiology/manifestation convention)",
        )
    if kind == "supplementary":
        return Placement(
            NEVER,
            "supplementary",
            "A supplementary code (it names the agent of a disease coded elsewhere): never principal or "
            "first-listed. Code the disease first, then this code.",
            f"Tabular note at {source} (supplementary or additional codes); Official Guidelines I.A.13",
        )
    if kind == "additional":
        return Placement(
            NEVER,
            "z-secondary" if code[:1] == "Z" else "additional-only",
            f"An additional code only (so the tabular note at {source} says): never principal or first-listed. "
            "Report it after the code of the condition or encounter it accompanies.",
            f"Tabular note at {source} (for use as an additional code); Official Guidelines I.B.7",
        )
    if kind == "single":
        return Placement(
            ONLY,
            "single-diagnosis",
            f"A single-diagnosis code (so the tabular note at {source} says): always the principal or first-listed "
            "diagnosis, and never reported with another code of its chapter. When anything else of the "
            "pregnancy, the delivery or the puerperium has to be coded, this code does not apply. Codes of other "
            "chapters may follow it for conditions that do not complicate the pregnancy.",
            f"Tabular note at {source} (for use as a single diagnosis code); Official Guidelines I.C.15.n.1",
        )
    drug = drug_kind(code)
    if drug == ADVERSE_EFFECT:
        return Placement(
            NEVER,
            ADVERSE_EFFECT,
            "An adverse effect of a drug correctly prescribed and properly given: code the nature of the "
            "effect first (for example the rash, the arrhythmia, or T88.7 when the record names no effect), "
            "then this code for the drug.",
            "Official Guidelines I.C.19.e.5(a) (adverse effect)",
        )
    if drug == UNDERDOSING:
        return Placement(
            NEVER,
            UNDERDOSING,
            "An underdosing (less of a drug taken than prescribed): never principal or first-listed. Code "
            "the relapse or exacerbation it caused first, then this code, then the reason, such as "
            "noncompliance (Z91.12-, Z91.13-, Z91.14-, Z91.A4-) or a failure in dosage during care (Y63.6, "
            "Y63.8-Y63.9), when the record gives it.",
            "Official Guidelines I.C.19.e.5(c) (underdosing)",
        )
    if code[:1] == "Z":
        for prefix, excepted in ONLY_FIRST_LISTED.items():
            if (code == prefix or code.startswith(prefix)) and not any(code.startswith(e) for e in excepted):
                return Placement(
                    ONLY,
                    "z-first-listed",
                    "This Z code may only be the principal or first-listed diagnosis (except when the "
                    "records of several encounters on one day are combined).",
                    "Official Guidelines I.C.21.c.16 (Z codes that may only be principal/first-listed)",
                )
        secondary = next((v for k, v in SECONDARY_ONLY.items() if code == k or code.startswith(k)), None)
        if secondary is not None:
            return Placement(
                NEVER,
                "z-secondary",
                f"Never principal or first-listed: {secondary[0]}.",
                secondary[1],
            )
        unconditional = [(where, text) for where, text in code_first if not conditional(text)]
        if unconditional:
            where, text = unconditional[0]
            return Placement(
                NEVER,
                "z-secondary",
                f"A status or factor of another condition: the tabular at {where} tells to code first "
                f"{text.rstrip(':').removesuffix(', such as')}, so this code never comes first.",
                f"Official Guidelines I.A.13 and I.B.7 (code first); tabular code-first note at {where}",
            )
    return None


def sequencing_text(code: str, chapter: str) -> tuple[str, str, str] | None:
    """(rule id, text, basis) of a sequencing rule that does not fix the place: poisoning, chapters 15, 16."""
    kind = drug_kind(code)
    if kind == POISONING:
        return (
            POISONING,
            "A poisoning (wrong drug, wrong dose, wrong route, or a drug taken with alcohol or a drug not "
            "prescribed): this code comes first, then the codes of its manifestations. When the intent is "
            "not documented, the accidental code applies; undetermined only when the record says the "
            "intent cannot be determined.",
            "Official Guidelines I.C.19.e.5(b) (poisoning)",
        )
    if chapter == "16":
        return (
            "perinatal",
            "A condition that originates in the perinatal period: for the newborn's or the child's record, never "
            "the mother's; it may be reported at any age while the condition is present. On the birth record, a "
            "Z38 code comes first.",
            "Official Guidelines I.C.16.a.1 and I.C.16.a.2 (chapter 16 codes; principal diagnosis for the birth "
            "record)",
        )
    if chapter == "15":
        return (
            "obstetric",
            "A pregnancy, childbirth or puerperium code: for the mother's record only, never the newborn's; "
            "it goes before codes from other chapters, which may be added to describe the condition. Add "
            "the weeks of gestation (category Z3A) when the record gives them. When the provider documents the "
            "pregnancy as incidental to the encounter, Z33.1 is reported instead of chapter 15 codes.",
            "Official Guidelines I.C.15.a.1 and I.C.15.a.2 (chapter 15 sequencing priority, maternal record "
            "only); tabular note at chapter 15 (Z3A)",
        )
    return None
