"""Language preferences (``displayLanguage`` or ``Accept-Language``) and the choice of a display.

A preference list is parsed like Accept-Language: ``de-CH, de;q=0.8, *;q=0``. Ranges with
q=0 are never used; ``*;q=0`` also means "no fallback to the default display".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFERRED = {
    "system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
    "code": "preferredForLanguage",
    "display": "Preferred For Language",
}


# One entry of a preference list: a language range (RFC 4647: "*", or subtags of 1-8 letters and digits joined
# by "-", the first of letters only), with an optional weight.
_ENTRY = re.compile(r"\s*(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)\s*(;\s*q\s*=\s*[0-9.]+\s*)?")


def well_formed(text: str) -> bool:
    """Is ``text`` a preference list (``de-CH, de;q=0.8``) whose every entry is a language range? (Empty
    entries are ignored, as list syntax allows; at least one must be there.)"""
    entries = [item for item in text.split(",") if item.strip()]
    return bool(entries) and all(_ENTRY.fullmatch(item) for item in entries)


@dataclass(frozen=True)
class Languages:
    ranges: tuple[str, ...]  # usable ranges, most wanted first
    source: str
    no_fallback: bool = False  # "*;q=0" was given

    @classmethod
    def parse(cls, text: str) -> Languages:
        weighted, no_fallback = [], False
        for position, item in enumerate(text.split(",")):
            tag, _, rest = item.strip().partition(";")
            tag = tag.strip()
            if not tag:
                continue
            weight = 1.0
            rest = rest.strip()
            if rest.startswith("q="):
                try:
                    weight = float(rest[2:])
                except ValueError:
                    weight = 0.0
            if weight > 0:
                weighted.append((-weight, position, tag))
            elif tag == "*":
                no_fallback = True
        return cls(tuple(tag for _, _, tag in sorted(weighted)), text, no_fallback)

    @property
    def accepts_any(self) -> bool:
        return "*" in self.ranges

    @property
    def echo(self) -> str:
        """The list as expansions echo it: as sent, or re-spaced when it carries weights."""
        if ";" not in self.source:
            return self.source
        parts = []
        for item in self.source.split(","):
            tag, _, rest = item.strip().partition(";")
            parts.append(f"{tag.strip()}; {rest.strip()}" if rest else tag.strip())
        return ", ".join(parts)


def language_matches(wanted: str, actual: str | None) -> bool:
    """``de`` matches ``de`` and ``de-CH``; ``de-CH`` matches only ``de-CH``."""
    if actual is None:
        return False
    wanted, actual = wanted.lower(), actual.lower()
    return actual == wanted or actual.startswith(wanted + "-")


def _level(wanted: str, actual: str | None) -> int | None:
    """How well a designation's language fits a wanted range: 0 exact, 1 sub-tag, 2 same language."""
    if actual is None:
        return None
    wanted, actual = wanted.lower(), actual.lower()
    if actual == wanted:
        return 0
    if actual.startswith(wanted + "-"):
        return 1
    if actual.split("-")[0] == wanted.split("-")[0]:
        return 2
    return None


def _is_display_use(designation: dict) -> bool:
    use = designation.get("use")
    return use is None or use.get("code") in ("preferredForLanguage", "display")


def choose(candidates: list[dict], languages: Languages | None) -> dict | None:
    """The designation to show as the display. ``candidates[0]`` is the default display, if any."""
    if not candidates:
        return None
    default = candidates[0] if candidates[0].get("default") else None
    if languages is None:
        return default
    for wanted in languages.ranges:
        if wanted == "*":
            return default or candidates[0]
        for level in (0, 1, 2):
            fitting = [c for c in candidates if _level(wanted, c.get("language")) == level]
            if fitting:
                return next((c for c in fitting if _is_display_use(c)), fitting[0])
    if languages.no_fallback:
        return next((c for c in candidates if c.get("language") is None and _is_display_use(c)), None)
    return default
