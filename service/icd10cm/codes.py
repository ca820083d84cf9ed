"""ICD-10-CM identity and the forms of a code that people really send."""

from __future__ import annotations

import re

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10CM_OID = "urn:oid:2.16.840.1.113883.6.90"
SYSTEM_ALIASES = {ICD10CM: ICD10CM, ICD10CM_OID: ICD10CM}
NAME = "ICD-10-CM"
# The shape of a code, dotted: a letter, a digit or letter, a digit or letter; then up to four more after the dot.
CODE_SHAPE = re.compile(r"[A-Z][0-9A-Z]{2}(\.[0-9A-Z]{1,4})?")
# Namespace of the artifacts this project defines (guidance supplement, extension).
CANONICAL_BASE = "https://icd10cm-tx.org/fhir"


def canonical_system(system: str | None) -> str | None:
    """The canonical URL for ICD-10-CM aliases; anything else trimmed; None for none or blank."""
    system = (system or "").strip()
    return SYSTEM_ALIASES.get(system, system) or None


def seventh_characters(base_display: str, children: list[tuple[str, str]], allowed: str) -> str:
    """``A (initial encounter), D (subsequent encounter), ...`` for a code that needs a 7th
    character. A generated code's display is its base's display, ", ", then the character's meaning."""
    meanings = {code[-1]: display[len(base_display) + 2 :] for code, display in children}
    return ", ".join(f"{c} ({meanings.get(c, '')})" for c in allowed)


def normalize_code(raw: str) -> str:
    """``' m549 '`` -> ``'M54.9'``: trim, upper-case, and put the dot after the category."""
    code = raw.strip().upper()
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    return code


def placeholder_candidates(code: str) -> list[str]:
    """Codes the sender may have meant when the placeholder X is missing (T45.01A -> T45.0X1A)."""
    compact = code.replace(".", "")
    if not 4 <= len(compact) < 7 or not compact[-1].isalpha():
        return []
    stem, seventh = compact[:-1], compact[-1]
    candidates = []
    for position in range(3, len(stem) + 1):
        padded = stem[:position] + "X" * (6 - len(stem)) + stem[position:]
        candidates.append(f"{padded[:3]}.{padded[3:]}{seventh}")
    return list(dict.fromkeys(candidates))
