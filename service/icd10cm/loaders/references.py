"""Find the ICD-10-CM codes an instructional note refers to.

Tabular notes cite codes in parentheses: ``(M46.4-)`` (a code and everything below it),
``(C00-C96)`` (a range of categories), ``(F10.-)``, ``(S06.1- to S06.6-)``,
``(T82.84, T83.84, T84.84, T85.84-)``, ``(T36-T50 with fifth or sixth character 5)``.
A reference is returned as a string in one small grammar:

* ``M54.16``     exactly that code
* ``M46.4-``     that code and its descendants
* ``C00-C96``    the categories from C00 to C96 and their descendants

Qualifiers such as "with fifth or sixth character 5" are not parsed; the note text is always
kept beside the references, so nothing is lost.
"""

from __future__ import annotations

import re

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?"
# A code, optionally followed by "-" (descendants) or by "-CODE" / " to CODE" (a range).
_REFERENCE = re.compile(rf"(?<![A-Za-z0-9])({_CODE})(-)?(?:\s*(?:-|to)\s*({_CODE})(-)?)?(?![A-Za-z0-9])")
_PARENTHESES = re.compile(r"[(\[{]([^()\[\]{}]*)[)\]}]")


def _clean(code: str) -> str:
    return code.rstrip(".")


def parse_references(text: str) -> list[str]:
    """Return the code references cited in ``text``, in order, without repeats.

    Inside parentheses every code-shaped token counts. Outside them only unambiguous forms do
    (a dotted code or a trailing dash, as in "subcategories S06.1- to S06.6-"), so that words
    such as "vitamin B12" are not taken for codes.
    """
    spans = [(m.start(1), m.end(1)) for m in _PARENTHESES.finditer(text)]
    found: list[str] = []
    for match in _REFERENCE.finditer(text):
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
