"""What the words of tabular titles say, for the list checks: a "without" a sibling contradicts, the condition a
"personal history of" code is about, the body system a chapter or block names.

Titles are the classification's own words; these readings match words, never a list of codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
# Words that carry no condition: structure, qualifiers, and the words every history or symptom title has.
_FILLER = frozenset(
    "a an and by for in of on or the to with without other others unspecified specified site sites part parts "
    "type nos nec not elsewhere classified personal history".split()
)
_CLAUSE_END = re.compile(r",|\bwith\b|\bwithout\b|\bnot\b|\bin\b|\bdue\b")
_UNCOMPLICATED = re.compile(r"\b(?:without complications?|uncomplicated)\b", re.IGNORECASE)


@lru_cache(maxsize=65536)  # titles repeat across lists; reading one is pure
def words(title: str) -> frozenset[str]:
    """A title's condition words, lower case and singular: 'Malignant neoplasm of breast' -> malignant,
    neoplasm, breast."""
    return frozenset(_singular(w) for w in _WORD.findall(_plain(title)) if w not in _FILLER)


@lru_cache(maxsize=65536)
def affirmed(title: str) -> frozenset[str]:
    """A title's condition words without those its "without" clauses deny: I25.10, 'Atherosclerotic heart
    disease of native coronary artery without angina pectoris', does not say angina."""
    denied = {w for clause in without_clauses(title) for alternative in clause for w in words(alternative)}
    return words(title) - denied


def stem(word: str) -> str:
    """The first six letters: 'behavior' and 'behavioral', 'circulatory' and 'circulation' read alike."""
    return word[:6]


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"  # polyneuropathies
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _plain(title: str) -> str:
    """Lower case, without parenthesized asides ('(TIA)', '(recurrent)')."""
    return re.sub(r"\([^)]*\)", " ", title.lower())


def uncomplicated(title: str) -> bool:
    """'Type 2 diabetes mellitus without complications', 'Alcohol dependence, uncomplicated'."""
    return bool(_UNCOMPLICATED.search(title))


@lru_cache(maxsize=65536)
def without_clauses(title: str) -> tuple[tuple[str, ...], ...]:
    """Each "without ..." clause of a title, as the alternatives it denies: 'Unilateral inguinal hernia, without
    obstruction or gangrene' -> [('obstruction', 'gangrene')]; K57.30's two clauses give two entries."""
    text = _plain(title)
    clauses = []
    for found in re.finditer(r"\bwithout\s+", text):
        rest = text[found.end() :]
        end = _CLAUSE_END.search(rest)
        clause = rest[: end.start()] if end else rest
        alternatives = tuple(a.strip() for a in re.split(r"\bor\b|\band\b", clause) if a.strip())
        if alternatives and not uncomplicated("without " + clause):
            clauses.append(alternatives)
    return tuple(clauses)


def affirms(title: str, phrase: str) -> bool:
    """Whether a title says "with <phrase>" (and not "without <phrase>")."""
    return re.search(rf"(?<!\w)with\s+(?:\w+\s+)?{re.escape(phrase)}\b", _plain(title)) is not None


@lru_cache(maxsize=65536)
def history_subject(title: str) -> frozenset[str]:
    """The condition words of a "Personal history of ..." title, empty for any other title."""
    lowered = title.lower()
    if not lowered.startswith("personal history of "):
        return frozenset()
    return words(lowered.removeprefix("personal history of "))


@dataclass(frozen=True, slots=True)
class ExcludedLine:
    """An Excludes1 line written without a code in parentheses, read by its words."""

    term: frozenset[str]  # the condition words before the pointer: 'sepsis- code to infection' -> sepsi
    pointer: frozenset[str]  # the stems of what the pointer names: 'see Injury, nerve by body region' -> injury, nerve
    codes: tuple[str, ...]  # codes written in the pointer: 'see categories E08-E10, E11, E13 with ketoacidosis'
    qualifier: frozenset[str]  # what the codes must say too: ketoacidosis


_POINTER = re.compile(r"\s*-\s*(?=(?:code|see|omit)\b)|\s+(?=(?:code to|see)\b)")
_CODE_IN_TEXT = re.compile(r"\b[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,4})?(?:-[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,4})?)?\b")


@lru_cache(maxsize=65536)
def excluded_line(text: str) -> ExcludedLine | None:
    """How an Excludes1 line without a code names what it excludes; None for a heading ('myopathy in:')."""
    if text.rstrip().endswith(":"):
        return None
    parts = _POINTER.split(text, maxsplit=1)
    term, pointer = parts[0], parts[1] if len(parts) > 1 else ""
    pointer = re.sub(r"^(?:code to|see|omit code)\s*", "", pointer, flags=re.IGNORECASE)
    codes = tuple(_CODE_IN_TEXT.findall(pointer))
    named, _, qualified = re.split(r"\bby\b", pointer, maxsplit=1)[0].partition(" with ")
    stems = frozenset(stem(w) for w in words(named) if not any(c.isdigit() for c in w) and w not in _NOT_NAMES)
    if "index" in pointer.lower() or codes:
        stems = frozenset()
    return ExcludedLine(words(term) - _QUALIFIERS, stems, codes, words(qualified) if codes else frozenset())


# Pointer words that say where, not what ("categories E08-E10", "condition in Chapter 15").
_NOT_NAMES = frozenset("category categorie chapter condition relevant appropriate".split())
# Words that qualify a term of an Excludes1 line rather than name its condition ("confirmed infection",
# "diagnosed current infectious or parasitic disease").
_QUALIFIERS = frozenset("confirmed diagnosed current established known".split())


# The words of chapter and block titles that name a body system rather than a kind of finding.
_NOT_A_SYSTEM = frozenset(
    "symptom sign involving system disease disorder abnormal finding examination diagnosi tissue organ certain "
    "condition general ill defined unknown cause mortality function study imaging substance fluid".split()
)


@lru_cache(maxsize=65536)
def systems(title: str) -> frozenset[str]:
    """The body-system stems of a chapter or block title: 'Symptoms and signs involving the circulatory and
    respiratory systems' -> circul, respir; 'Diseases of the circulatory system' -> circul."""
    return frozenset(stem(w) for w in words(title) if w not in _NOT_A_SYSTEM and not any(c.isdigit() for c in w))
