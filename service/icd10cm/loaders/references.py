"""Find the ICD-10-CM codes an instructional note refers to.

Tabular notes cite codes in parentheses: ``(M46.4-)`` (a code and everything below it),
``(C00-C96)`` (a range of categories), ``(F10.-)``, ``(S06.1- to S06.6-)``,
``(T82.84, T83.84, T84.84, T85.84-)``, ``(T36-T50 with fifth or sixth character 5)``.
A reference is returned as a string in one small grammar:

* ``M54.16``     exactly that code
* ``M46.4-``     that code and its descendants
* ``C00-C96``    the categories from C00 to C96 and their descendants

A reference with a qualifier ("(E08-E13 with .42)", "(B27.0-B27.9 with fifth character 1)") means some
codes of its range, never the range: ``qualified_references`` reads it and ``resolve_qualified`` turns it
into the exact codes once the release's code list is known (E08.42, E09.42, ...). One that means more than
``MAX_LISTED`` codes ("T36-T50 with fifth or sixth character 5": some 250) stays one reference, written as
the tabular writes it, so that a client sees it is qualified:

* ``T36-T50 with fifth or sixth character 5``   the codes of the range that the qualifier selects

The note text is always kept beside the references.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?"
# A code, optionally followed by "-" (descendants) or by "-CODE" / " to CODE" (a range).
_REFERENCE = re.compile(rf"(?<![A-Za-z0-9])({_CODE})(-)?(?:\s*(?:-|to)\s*({_CODE})(-)?)?(?![A-Za-z0-9])")
_PARENTHESES = re.compile(r"[(\[{]([^()\[\]{}]*)[)\]}]")
# "from category Z3A", "categories E08, E09 and E13", "category T31 or T32": whole categories named in words.
_CATEGORY = r"[A-Z][0-9][0-9A-Z](?:-[A-Z][0-9][0-9A-Z])?"
_CATEGORIES = re.compile(rf"\bcategor(?:y|ies)\s+({_CATEGORY}(?:\s*(?:,|\bor\b|\band\b)\s*{_CATEGORY})*)")


def _clean(code: str) -> str:
    return code.rstrip(".")


def parse_references(text: str) -> list[str]:
    """Return the code references cited in ``text``, in order, without repeats.

    Inside parentheses every code-shaped token counts. Outside them only unambiguous forms do
    (a dotted code or a trailing dash, as in "subcategories S06.1- to S06.6-"), so that words
    such as "vitamin B12" are not taken for codes.
    """
    spans = [(m.start(1), m.end(1)) for m in _PARENTHESES.finditer(text)]
    qualified = [(m.start(), m.end()) for m in _WITH.finditer(text)]
    found: list[str] = []
    for match in _REFERENCE.finditer(text):
        if any(start <= match.start() < end for start, end in qualified):
            continue  # "(E08-E13 with .42)" means some codes of the range: qualified_references
        first, first_dash, last, _ = match.groups()
        in_parentheses = any(start <= match.start() < end for start, end in spans)
        if not in_parentheses and "." not in first and not first_dash:
            continue
        if last:
            # "C00-C96", or "S06.1- to S06.6-" (subcategories and their descendants).
            ref = f"{_clean(first)}-{_clean(last)}"
        else:
            ref = _clean(first) + ("-" if first_dash or first.endswith(".") else "")
        if ref not in found:
            found.append(ref)
    return found


def category_references(text: str) -> list[str]:
    """Whole categories named in words ("code from category Z3A", "categories E08, E09 and E13"), as
    references; the loader keeps those that are categories of the release."""
    found: list[str] = []
    for match in _CATEGORIES.finditer(text):
        if re.match(r"\s*,?\s*with\b", text[match.end() :]):
            continue  # "see categories E08-E10, E11, E13 with ketoacidosis": some codes of them, not all
        for category in re.findall(_CATEGORY, match.group(1)):
            ref = category if "-" in category else category + "-"
            if ref not in found:
                found.append(ref)
    return found


# -- qualified references: "(E08-E13 with .42)", "(T36-T50 with fifth or sixth character 5)" -------------------
# Such a reference means some codes of the range, not the range: they are resolved against the release's
# code list (resolve_qualified) once every code is known. A qualifier this grammar does not read ("with open
# fracture 7th character") leaves no reference at all: the note's text says it, and a bare range would
# over-exclude.
_WITH = re.compile(r"[(\[]([^()\[\]]*?)\s*,?\s*\bwith\b\s*([^()\[\]]*)[)\]]")
_BASE = re.compile(rf"({_CODE})(?:\s*-{{1,2}}\s*({_CODE})-?|(\.)?(-)?)")
_POSITIONS = {"fifth": 5, "5th": 5, "sixth": 6, "six": 6, "6th": 6, "seventh": 7, "7th": 7}
_POSITION_QUALIFIER = re.compile(
    r"^(?P<first>fifth|5th|sixth|6th|seventh|7th|final)(?:[- ]?(?P<join>or|to) (?P<second>sixth|six|6th))?"
    r"[- ]characters?\s+(?P<chars>[.\-]?[0-9A-Z]+(?:\s*(?:-|\bor\b|,)\s*[.\-]?[0-9A-Z]+)*)$",
    re.IGNORECASE,
)
_SUFFIXES = re.compile(r"^(\.[0-9A-Z]+-?(?:\s*[-,.]\s*\.?[0-9A-Z]+-?)*)$")


def qualified_references(text: str) -> list[tuple[list[str], str, str]]:
    """(base references, qualifier, the reference as written) of each parenthesized "BASE with QUALIFIER"
    in ``text``."""
    found = []
    for match in _WITH.finditer(text):
        bases = []
        for base in _BASE.finditer(match.group(1)):
            first, last, dot, dash = base.groups()
            if last:
                bases.append(f"{_clean(first)}-{_clean(last)}")
            else:
                bases.append(_clean(first) + ("-" if dot or dash or first.endswith(".") else ""))
        if bases:
            qualifier = match.group(2).strip().rstrip(".")
            found.append((bases, qualifier, f"{match.group(1).strip().rstrip(',')} with {qualifier}"))
    return found


def _under(base: str, ordered: list[str]) -> list[str]:
    """The codes a base reference spans (a code and its descendants, or a range of them), from the sorted
    code list."""
    if "-" in base.rstrip("-"):
        first, last = base.rstrip("-").split("-", 1)
    else:
        first = last = base.rstrip("-")
    return ordered[bisect_left(ordered, first) : bisect_left(ordered, last + "\x7f")]


def _characters(text: str) -> list[str]:
    """ "1-4 or 6" -> 1, 2, 3, 4, 6; ".00 or .01" -> .00, .01; "-23" -> -23."""
    wanted: list[str] = []
    for item in re.split(r"\s*(?:\bor\b|,)\s*", text.strip(), flags=re.IGNORECASE):
        low, dash, high = item.partition("-")
        if dash and len(low) == len(high) == 1:
            wanted += [chr(c) for c in range(ord(low.upper()), ord(high.upper()) + 1)]
        else:
            wanted.append(item.upper())
    return wanted


def _matcher(qualifier: str, leaf: Callable[[str], bool]) -> Callable[[str, str], bool] | None:
    """A test of (code, plain code) for a qualifier, or None when the qualifier is not understood.
    ``leaf``: whether a code is at the last level before 7th characters (its own last character is final)."""
    position = _POSITION_QUALIFIER.match(qualifier.replace("fifth-character", "fifth character"))
    if position:
        wanted = _characters(position.group("chars"))
        first = position.group("first").lower()
        if first == "final":
            dashed = {w[1:] for w in wanted if w.startswith("-")}
            dotted = {w[1:] for w in wanted if w.startswith(".")}
            bare = {w for w in wanted if w[:1] not in "-."}
            return lambda code, plain: (
                plain[3:] in dotted
                or (leaf(code) and any(plain.endswith(w) and len(plain) > 3 + len(w) for w in dashed))
                or (leaf(code) and any(plain.endswith(w) for w in bare) and len(plain) >= 5)
            )
        chars = {w.lstrip(".") for w in wanted}
        at = _POSITIONS[first]
        if position.group("second"):
            then = _POSITIONS[position.group("second").lower()]
            if position.group("join").lower() == "to":  # "fifth to sixth characters 51"
                return lambda code, plain: len(plain) == then and plain[at - 1 : then] in chars
            # "fifth or sixth character 5": the drug event is the code's last character before the 7th
            return lambda code, plain: leaf(code) and len(plain) in (at, then) and plain[-1] in chars
        return lambda code, plain: len(plain) == at and plain[at - 1] in chars
    suffixes = _SUFFIXES.match(qualifier.upper())
    if suffixes:
        items = re.findall(r"\.?([0-9A-Z]+-?)", suffixes.group(1))
        if re.search(r"\.[0-9A-Z]+\s*-\s*\.[0-9A-Z]+", suffixes.group(1)):  # ".51-.52": a range of endings
            low, high = items[0].rstrip("-"), items[1].rstrip("-")
            return lambda code, plain: len(plain) == 3 + len(low) and low <= plain[3:] <= high
        endings = {i.rstrip("-") for i in items}
        return lambda code, plain: plain[3:] in endings
    return None


MAX_LISTED = 64  # a qualified reference that means more codes stays one qualified reference


def resolve_qualified(
    bases: list[str], qualifier: str, codes: dict[str, list[str]], ordered: list[str], written: str = ""
) -> list[str] | None:
    """The codes a qualified reference means, as references (``CODE-`` when the code has codes below it),
    or, past ``MAX_LISTED`` of them, the qualified reference itself; None when the qualifier is not
    understood. ``codes``: every code of the release -> its children;
    ``ordered``: the codes, sorted."""

    def leaf(code: str) -> bool:
        return all(len(child) == 8 for child in codes[code])  # none, or 7th-character codes only (X99.XXXA)

    test = _matcher(qualifier, leaf)
    if test is None:
        return None
    found: list[str] = []
    for base in bases:
        for code in _under(base, ordered):
            if test(code, code.replace(".", "")):
                ref = code + ("-" if codes[code] else "")
                if ref not in found:
                    found.append(ref)
    if len(found) > MAX_LISTED:
        return [written or f"{', '.join(bases)} with {qualifier}"]
    return found
