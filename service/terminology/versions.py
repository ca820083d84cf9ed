"""Version strings of code systems and value sets: ordering and wildcard matching.

FHIR versions are free text; most are semver-like (``1.0.0``) and a request may ask for
``1.0.x`` or ``1.x`` meaning "the newest 1.0 / 1.* version".
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+)|(\D+)")
WILDCARDS = frozenset({"x", "X", "*"})


def sort_key(version: str) -> tuple:
    parts = []
    for piece in re.split(r"[.\-+]", version):
        for number, text in _PART.findall(piece):
            parts.append((0, int(number), "") if number else (1, 0, text))
    return tuple(parts)


def newest(versions):
    """The highest version, by numeric-aware comparison; None sorts lowest."""
    return max(versions, key=lambda v: (v is not None, sort_key(v or "")), default=None)


def is_wildcard(version: str | None) -> bool:
    return bool(version and any(part in WILDCARDS for part in version.split(".")))


def matches(pattern: str | None, version: str | None) -> bool:
    """True if ``version`` is ``pattern``, or fits it where the pattern has wildcards.

    ``1.0.x`` matches ``1.0.0`` and ``1.0.2``; ``1`` does not match ``1.0.0`` (no implied prefix).
    """
    if pattern is None or version is None:
        return pattern is None
    if pattern == version:
        return True
    wanted, actual = pattern.split("."), version.split(".")
    if len(wanted) != len(actual):
        return False
    return all(w in WILDCARDS or w == a for w, a in zip(wanted, actual, strict=True))


def versions_text(versions: list[str]) -> str:
    """Known versions as messages list them: ``1.0.0 or 1.2.0``."""
    return " or ".join(versions) if versions else "(none)"
