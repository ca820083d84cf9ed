"""The text filter of $expand: words in any order, word prefixes, or a code (prefix).

``lumb radic`` finds codes whose title or inclusion terms have words starting with "lumb" and
"radic"; ``backache`` finds M54.9 through its inclusion term; ``M54.5``, ``m545`` and ``S52.5``
are code prefixes, with or without the dot.
"""

from __future__ import annotations

import re

from .codes import normalize_code

_CODE_PREFIX = re.compile(r"[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{0,4})?")
_WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 10


def code_prefix(text: str) -> str | None:
    """The normalized code prefix, when the filter is a code or the start of one."""
    text = text.strip()
    return normalize_code(text).rstrip(".") if _CODE_PREFIX.fullmatch(text) else None


def fts_query(text: str) -> str | None:
    """An FTS5 query: every word, as a prefix, in any order (None when there is no word)."""
    words = _WORD.findall(text.lower())[:MAX_WORDS]
    return " AND ".join(f'"{word}"*' for word in words) or None
