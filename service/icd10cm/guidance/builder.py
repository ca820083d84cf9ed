"""Guidance for one code of one release: editorial entries, rule-derived items and siblings.

Everything is produced twice, as ``$lookup`` property entries and as items of the guidance
extension, and serialized. What many codes share (the rules from a category's or chapter's
notes, a parent's children, an editorial record) is built and serialized once per process and
cached; only the rules that follow from the code itself are built per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import orjson

from ...fhir.parameters import property_param, serialize
from ..store.reader import ConceptRow, Release
from ..store.schema import block_key, chapter_key
from .fhir import editorial_entries, extension_items
from .risk import GENERAL
from .risk import entries_of as risk_entries
from .rules import Rule, Sibling, code_first_phrases, code_rules, note_rules, sibling, side_of, where
from .sequencing import PLACEMENT_RULES, drug_kind, is_manifestation_title, usage_note
from .specificity import leaves_open

MODES = ("all", "rules", "none")  # the `guidance` request parameter


@dataclass(frozen=True, slots=True)
class Pieces:
    """Guidance serialized both ways: comma-separated property entries and extension items."""

    entries: bytes = b""
    extension: bytes = b""

    @classmethod
    def of(cls, entries: list[dict]) -> Pieces:
        return cls(serialize(entries), serialize(extension_items(entries))) if entries else cls()

    @classmethod
    def of_rules(cls, rules: list[Rule]) -> Pieces:
        if not rules:
            return cls()
        return cls(serialize([r.entry() for r in rules]), serialize([r.extension() for r in rules]))


@dataclass(slots=True)
class Guidance:
    pieces: list[Pieces] = field(default_factory=list)
    code_rules: list[Rule] = field(default_factory=list)  # the rules that follow from the code itself
    first_listed: str | None = None  # never | only (None: either)

    @property
    def entries(self) -> bytes:
        return b",".join(p.entries for p in self.pieces if p.entries)

    @property
    def extension(self) -> bytes:
        return b",".join(p.extension for p in self.pieces if p.extension)

    def __bool__(self) -> bool:
        return any(p.entries for p in self.pieces)


class GuidanceBuilder:
    def __init__(self, release: Release):
        self.release = release
        self.editorial = lru_cache(maxsize=1024)(self._editorial)
        self.risk = lru_cache(maxsize=256)(self._risk)
        self.note_rules = lru_cache(maxsize=16384)(self._note_rules)
        self.family = lru_cache(maxsize=8192)(self._family)
        self.block_family = lru_cache(maxsize=512)(self._block_family)
        # A code's rule-derived guidance: a few kilobytes of shared pieces; the most asked codes stay.
        self.own = lru_cache(maxsize=8192)(self._own)
        # The codes titled as manifestations ("in ... diseases classified elsewhere"): a few hundred, so a
        # code's ancestors are looked up here rather than read from the store on every request.
        self.manifestations = {
            code: display
            for code, display in release.titled("%classified elsewhere%")
            if is_manifestation_title(display)
        }

    def _editorial(self, code: str) -> Pieces:
        record = self.release.guidance_record(code)
        if record:
            return Pieces.of(editorial_entries(orjson.loads(record)))
        owner = self.release.guidance_owner(code)
        record = self.release.guidance_record(owner) if owner else None
        if owner is None or not record:
            return Pieces()
        # The entry of a category or subcategory above: its more specific codes are those below this code.
        inherited = orjson.loads(record)
        inherited["more_specific"] = [
            s for s in inherited.get("more_specific", ()) if s["code"] != code and s["code"].startswith(code)
        ]
        owner_concept = self.release.concept(owner)
        return Pieces.of(editorial_entries(inherited, (owner, owner_concept.display if owner_concept else None)))

    def _risk(self, families: str) -> Pieces:
        """The risk adjustment guidance of a code's families ('|'-separated): every mapped code's, then each
        family's."""
        names = [GENERAL] + [f for f in families.split("|") if f != GENERAL]
        records = [r for r in map(self.release.risk_record, names) if r]
        return Pieces.of([e for r in records for e in risk_entries(orjson.loads(r))])

    def _note_rules(self, owner: str, level: str, source: str, drug: str | None) -> Pieces:
        return Pieces.of_rules(note_rules(self.release.notes(owner), level, source, drug))

    def _seventh_table(self, concept: ConceptRow) -> dict[str, str]:
        """A 7th-character code's table (character -> meaning), from the code that defines it."""
        if not (concept.billable and concept.seventh and concept.seventh_owner):
            return {}
        notes = self.release.notes(concept.seventh_owner)
        return {n["char"]: n["text"] for n in notes if n["type"] == "sevenChrDef" and "char" in n}

    def _unspecified_levels(self, chain: list[str], block: str) -> tuple[tuple[Sibling, ...], ...]:
        """Up the ``chain`` of a code's ancestors (its parent first), the siblings of each ancestor whose own
        title is unspecified (J45.90 "Unspecified asthma", then J45.9 "Other and unspecified asthma"), and
        those of an unspecified category in its ``block`` (J18 "Pneumonia, unspecified organism": J13, J15)."""
        levels = []
        for below, above in zip(chain, [*chain[1:], None], strict=True):
            family = self.family(above) if above else self.block_family(block)
            here = next((s for s, _ in family if s.code == below), None)
            # A category counts only when it leaves something open by name (J18 "..., unspecified organism"),
            # not a mixed title such as "Suppurative and unspecified otitis media".
            if here is None or not here.unspecified or (above is None and not leaves_open(here.display)):
                break
            levels.append(tuple(s for s, _ in family if s.code != below))
        return tuple(levels)

    def seventh_of(self, code: str) -> str | None:
        """The 7th characters a base takes (None for a header with codes below it)."""
        concept = self.release.concept(code)
        return concept.seventh if concept is not None else None

    def _block_family(self, block: str) -> tuple[tuple[Sibling, Pieces], ...]:
        return tuple((sibling(c, d, bool(b)), Pieces()) for c, d, b in self.release.categories_of(block))

    def _family(self, parent: str) -> tuple[tuple[Sibling, Pieces], ...]:
        """The children of a code, each with its pieces as a sibling of the others."""
        return tuple(
            (sibling(c, d, bool(b)), Pieces.of([property_param("sibling", c, "Code", d)]))
            for c, d, b in self.release.children_of(parent)
        )

    def build(self, concept: ConceptRow, mode: str = "all") -> Guidance:
        """Editorial guidance (mode ``all``), then rule-derived items and siblings (``all``, ``rules``)."""
        guidance = Guidance()
        if mode == "none":
            return guidance
        if mode == "all" and concept.code in self.release.guidance_codes:
            guidance.pieces.append(self.editorial(concept.code))
        if mode == "all" and concept.risk:
            guidance.pieces.append(self.risk(concept.risk))
        own = self.own(concept.code)
        guidance.first_listed, guidance.code_rules = own.first_listed, own.code_rules
        guidance.pieces += own.pieces
        return guidance

    def _own(self, code: str) -> Guidance:
        """Everything rule-derived for one code: its own rules, the rules of the notes that apply to it and its
        siblings. It depends on the code alone, so it is built once per code and kept (``own``)."""
        concept = self.release.concept(code)
        assert concept is not None, code
        ancestors = concept.ancestors
        generated = concept.billable and concept.seventh is not None
        # A 7th-character code is judged by its base: the base's title and siblings.
        base, base_parent = (
            (concept.parent, ancestors[1] if len(ancestors) > 1 else None)
            if generated
            else (concept.code, concept.parent)
        )
        family = [(s, pieces) for s, pieces in self.family(base_parent)] if base_parent else []
        siblings = [s for s, _ in family if s.code != base]
        base_display = next((s.display for s, _ in family if s.code == base), None) if generated else None
        owners = [(concept.code, "code", concept.code)] + [(a, "ancestor", a) for a in ancestors]
        owners += [(block_key(b), "block", b) for b in concept.blocks]
        owners.append((chapter_key(concept.chapter), "chapter", concept.chapter))
        drug = drug_kind(concept.code)
        # What the code-first notes above a Z code ask for decides whether it may come first.
        code_first = tuple(
            (where(level, source), phrase)
            for owner, level, source in (owners if concept.code.startswith("Z") else ())
            for phrase in code_first_phrases(self.release.notes(owner), drug)
        )
        manifest = next(
            ((c, self.manifestations[c]) for c in (concept.code, *ancestors) if c in self.manifestations), None
        )
        # The nearest note that says where the code stands ("for use as an additional code", ...).
        usage = next(
            (
                (kind, where(level, source))
                for owner, level, source in owners
                if level != "chapter"
                for note in self.release.notes(owner)
                if note["type"] in ("notes", "inclusionTerm") and (kind := usage_note(note["text"]))
            ),
            None,
        )
        table = self._seventh_table(concept)
        own = Guidance()
        own.first_listed, own.code_rules = code_rules(
            concept.code,
            concept.display,
            concept.billable,
            concept.seventh,
            concept.seventh_owner,
            [] if concept.billable else concept.children,
            base_display,
            siblings,
            chapter=concept.chapter,
            manifest=manifest,
            usage=usage,
            code_first=code_first,
            seventh_meaning=table.get(concept.seventh or ""),
            seventh_sides=tuple(
                (completed, side)
                for char, meaning in table.items()
                if (side := side_of(meaning)) and self.release.concept(completed := f"{concept.code[:-1]}{char}")
            ),
            seventh_of=self.seventh_of,
            levels=self._unspecified_levels(ancestors[ancestors.index(base_parent) :], concept.blocks[0])
            if base_parent
            else (),
            below_codes=tuple(s for s, _ in self.family(concept.code)) if not concept.billable else (),
        )
        placed = next((r for r in own.code_rules if r.rule in PLACEMENT_RULES), None)
        if own.first_listed and placed is not None:
            basis = [("basis", placed.basis, "String")]
            own.pieces.append(Pieces.of([property_param("firstListed", own.first_listed, "Code", None, basis)]))
        own.pieces.append(Pieces.of_rules(own.code_rules))
        own.pieces += [self.note_rules(owner, level, source, drug) for owner, level, source in owners]
        own.pieces += [pieces for s, pieces in family if s.code != base]
        return own

    @staticmethod
    def select(guidance: Guidance, wanted: frozenset[str]) -> Guidance:
        """Only the guidance properties named in ``wanted``."""
        kept = [e for e in orjson.loads(b"[" + guidance.entries + b"]") if e["part"][0]["valueCode"] in wanted]
        return Guidance([Pieces.of(kept)], [r for r in guidance.code_rules if "rule" in wanted])
