"""Language preferences (``displayLanguage`` or ``Accept-Language``) and display choice."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Languages:
    """Language ranges in order of preference (highest weight first; ``*`` is any language)."""

    ranges: tuple[str, ...]
    source: str

    @classmethod
    def parse(cls, text: str) -> Languages:
        weighted = []
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
        return cls(tuple(tag for _, _, tag in sorted(weighted)), text)

    @property
    def first(self) -> str | None:
        return next((r for r in self.ranges if r != "*"), None)

    @property
    def accepts_any(self) -> bool:
        return "*" in self.ranges


def language_matches(wanted: str, actual: str | None) -> bool:
    """``de`` matches ``de`` and ``de-CH``; ``de-CH`` matches only ``de-CH``."""
    if actual is None:
        return False
    wanted, actual = wanted.lower(), actual.lower()
    return actual == wanted or actual.startswith(wanted + "-")


def exact_match(wanted: str, actual: str | None) -> bool:
    return actual is not None and wanted.lower() == actual.lower()
