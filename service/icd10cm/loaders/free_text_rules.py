"""Coding rules that the tabular states only in free text, kept as a small versioned table.

Each rule names the note text that states it; it is applied only when that note is present
in the release being loaded, so a future release that drops the note drops the rule too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SeventhCharacterException:
    category: str
    sixth_characters: frozenset[str]
    excluded: frozenset[str]
    evidence: str  # a phrase of the category's note that states the rule


SEVENTH_CHARACTER_EXCEPTIONS = (
    # S06 notes (FY2021-FY2026): 7th characters D and S do not apply when the 6th character is
    # 7 or 8 (death before regaining consciousness).
    SeventhCharacterException("S06", frozenset("78"), frozenset("DS"), "7th characters D and S do not apply"),
)


def allowed_seventh_characters(code: str, characters: list[str], codes: Mapping) -> list[str]:
    """The 7th characters valid for ``code`` (a leaf that needs one), in table order."""
    compact = code.replace(".", "")
    for rule in SEVENTH_CHARACTER_EXCEPTIONS:
        if compact[:3] != rule.category or len(compact) < 6 or compact[5] not in rule.sixth_characters:
            continue
        category = codes.get(rule.category)
        if category and any(rule.evidence in note.text for note in category.notes):
            return [c for c in characters if c not in rule.excluded]
    return characters
