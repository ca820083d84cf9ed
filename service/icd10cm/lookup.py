"""$lookup: a code's display, hierarchy, status, chapter, blocks and instructional notes.

The answer joins serialized entries: the code's parent and children, its status, its chapter
and blocks, its own notes and inclusion terms, the 7th characters that apply to it, then the
notes it inherits from each ancestor, block and chapter, nearest first. All are rendered once
(``fragments.py``): at load time, or once per process for what many codes share. Asking for
particular properties filters the entries.
"""

from __future__ import annotations

from functools import lru_cache

import orjson

from ..fhir.parameters import property_param, serialize, seventh_character_entries
from .hcc import CURRENT_MODEL, NO_CATEGORY
from .hcc import PROPERTIES as HCC_PROPERTIES
from .model import LookupResult
from .store.reader import ConceptRow, Release
from .store.schema import block_key, chapter_key

_OTHER_MODELS = frozenset(HCC_PROPERTIES) - {CURRENT_MODEL}


class LookupRenderer:
    """Per-release caches of the entries that many codes share."""

    def __init__(self, release: Release):
        self.release = release
        self.groupings = {
            key: serialize([property_param(g.kind, g.id, "Code", g.title)]) for key, g in release.groupings.items()
        }
        self.seventh = lru_cache(maxsize=4096)(self._seventh)
        self.status = {
            billable: serialize(
                [
                    property_param("notSelectable", not billable, "Boolean"),
                    property_param("billable", billable, "Boolean"),
                ]
            )
            for billable in (True, False)
        }

    def _seventh(self, owner: str, level: str, allowed: str | None) -> bytes:
        return serialize(seventh_character_entries(self.release.notes(owner), level, owner, allowed))

    def entries(self, concept: ConceptRow, every_model: bool = False) -> list[bytes]:
        """The code's entries; its risk adjustment categories of the current model, or of ``every_model``."""
        fragments = [concept.hierarchy, self.status[concept.billable], self.groupings[chapter_key(concept.chapter)]]
        blocks = concept.blocks
        fragments += [self.groupings[block_key(b)] for b in blocks]
        note_fragments = self.release.note_fragments
        fragments.append(note_fragments(concept.code)[0])
        if concept.seventh_owner:
            level = "code" if concept.seventh_owner == concept.code else "ancestor"
            fragments.append(self.seventh(concept.seventh_owner, level, concept.seventh))
        owners = concept.ancestors + [block_key(b) for b in blocks] + [chapter_key(concept.chapter)]
        fragments += [note_fragments(owner)[1] for owner in owners]
        fragments.append(self.release.hcc_entries(concept.code) if every_model else concept.hcc)
        return [f for f in fragments if f]


def _select(entries: bytes, wanted: frozenset[str]) -> bytes:
    kept = [
        e for e in orjson.loads(b"[" + entries + b"]") if e["name"] != "property" or e["part"][0]["valueCode"] in wanted
    ]
    return serialize(kept)


def lookup(renderer: LookupRenderer, concept: ConceptRow, wanted: frozenset[str] | None = None) -> LookupResult:
    # Another risk adjustment model than the current one, asked for: every model's entries.
    pieces = renderer.entries(concept, every_model=wanted is not None and bool(wanted & _OTHER_MODELS or "*" in wanted))
    if wanted is not None and "*" not in wanted:
        pieces = [p for p in [_select(b",".join(pieces), wanted)] if p]
        # A risk adjustment model asked for by name, that the code maps to in none of the payment years: say so.
        unmapped = [m for m in HCC_PROPERTIES if m in wanted and f'"valueCode":"{m}"'.encode() not in b"".join(pieces)]
        pieces += [serialize([property_param(m, "none", "Code", NO_CATEGORY)]) for m in unmapped]
    return LookupResult(concept.code, concept.display, renderer.release.version, pieces)
