"""$lookup: a code's display, hierarchy, status, chapter, blocks and instructional notes.

The answer joins serialized entries: the code's hierarchy and status (built per request),
its chapter and blocks, its own notes and inclusion terms, the 7th characters that apply to
it, then the notes it inherits from each ancestor, block and chapter, nearest first. Everything
but the first part is shared between codes and rendered once (``fragments.py``). Asking for
particular properties filters the entries.
"""

from __future__ import annotations

from functools import lru_cache

import orjson

from ..store.reader import ConceptRow, Release
from ..store.schema import block_key, chapter_key
from .fragments import property_param, serialize, seventh_character_entries
from .model import LookupResult


class LookupRenderer:
    """Per-release caches of the entries that many codes share."""

    def __init__(self, release: Release):
        self.release = release
        self.groupings = {
            key: serialize([property_param(g.kind, g.id, "Code", g.title)])
            for key, g in release.groupings.items()
        }
        self.seventh = lru_cache(maxsize=4096)(self._seventh)

    def _seventh(self, owner: str, level: str, allowed: str | None) -> bytes:
        return serialize(seventh_character_entries(self.release.notes(owner), level, owner, allowed))

    def entries(self, concept: ConceptRow) -> bytes:
        head = []
        if concept.parent:
            head.append(property_param("parent", concept.parent, "Code", concept.parent_display))
        head += [property_param("child", code, "Code", display) for code, display in concept.children]
        head.append(property_param("notSelectable", not concept.billable, "Boolean"))
        head.append(property_param("billable", concept.billable, "Boolean"))
        fragments = [serialize(head), self.groupings[chapter_key(concept.chapter)]]
        blocks = concept.blocks
        fragments += [self.groupings[block_key(b)] for b in blocks]
        note_fragments = self.release.note_fragments
        fragments.append(note_fragments(concept.code)[0])
        if concept.seventh_owner:
            level = "code" if concept.seventh_owner == concept.code else "ancestor"
            fragments.append(self.seventh(concept.seventh_owner, level, concept.seventh))
        owners = concept.ancestors + [block_key(b) for b in blocks] + [chapter_key(concept.chapter)]
        fragments += [note_fragments(owner)[1] for owner in owners]
        return b",".join(f for f in fragments if f)


def _select(entries: bytes, wanted: frozenset[str]) -> bytes:
    kept = [e for e in orjson.loads(b"[" + entries + b"]")
            if e["name"] != "property" or e["part"][0]["valueCode"] in wanted]
    return serialize(kept)


def lookup(renderer: LookupRenderer, concept: ConceptRow, wanted: frozenset[str] | None = None) -> LookupResult:
    entries = renderer.entries(concept)
    if wanted is not None and "*" not in wanted:
        entries = _select(entries, wanted)
    return LookupResult(concept.code, concept.display, renderer.release.version, entries)
