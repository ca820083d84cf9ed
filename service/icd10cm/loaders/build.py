"""Write a release into its own SQLite file: built aside under a temporary name, then renamed
over the old file in one step, so a running server (which keeps its open file) is never
disturbed."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from ...fhir import parameters as fragments
from ..guidance.risk import families_of, family_index
from ..hcc import CURRENT_MODEL
from ..search import meaning, meaning_bag, static_rank
from ..store.schema import DDL, FILE_PREFIX, FILE_SUFFIX, SCHEMA_VERSION, block_key, chapter_key
from .hcc import HccData
from .sources import ReleaseLabel, ReleaseSource
from .tabular import Code, Tabular


@dataclass(frozen=True)
class BuildStats:
    path: Path
    version: str
    codes: int
    billable: int
    blocks: int
    chapters: int
    seconds: float


def release_path(store_dir: Path, version: str) -> Path:
    return store_dir / f"{FILE_PREFIX}{version}{FILE_SUFFIX}"


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


def _seventh_owner(tabular: Tabular, code: Code) -> str | None:
    """The nearest code (itself or an ancestor) that declares a 7th-character table."""
    current: Code | None = code
    while current is not None:
        if any(n.type == "sevenChrDef" for n in current.notes):
            return current.code
        current = tabular.codes[current.parent] if current.parent else None
    return None


def _search_ranks(tabular: Tabular) -> dict[str, int]:
    """Shorter titles first (the general code before its specific ones), then tabular order."""
    ordered = sorted(enumerate(tabular.codes.values()), key=lambda item: (len(item[1].display), item[0]))
    return {code.code: rank for rank, (_, code) in enumerate(ordered)}


def _concept_rows(tabular: Tabular, ranks: dict[str, int]):
    codes = tabular.codes
    for seq, code in enumerate(codes.values()):
        ancestors = []
        parent = code.parent
        while parent is not None:
            ancestors.append(parent)
            parent = codes[parent].parent
        yield (
            code.code,
            seq,
            code.display,
            code.parent,
            int(code.billable),
            code.chapter,
            "|".join(code.blocks),
            "|".join(ancestors),
            fragments.serialize(fragments.hierarchy_entries(code, codes)),
            code.seventh,
            _seventh_owner(tabular, code),
            ranks[code.code],
        )


_NAMING_NOTES = ("inclusionTerm", "includes")


def _search_rows(tabular: Tabular, ranks: dict[str, int], editorial: dict[str, dict]):
    codes = tabular.codes
    for code in codes.values():
        # A code is also known by the inclusion terms and "includes" notes of the codes above it: "tennis elbow"
        # (M77.1) is M77.10 and M77.11 too, "whiplash" (S13.4) is S13.4XXA, "shingles" (B02) is B02.9.
        terms = []
        named: Code | None = code
        while named is not None:
            terms += [n.text for n in named.notes if n.type in _NAMING_NOTES]
            named = codes[named.parent] if named.parent else None
        terms = list(dict.fromkeys(terms))
        terms += editorial.get(code.code, {}).get("search_terms", [])
        later = code.generated and code.seventh is not None and "B" <= code.seventh <= "Z"
        # A 7th-character code is named by its base's title ("..., initial encounter for closed fracture").
        title = codes[code.parent].display if code.generated and code.parent else code.display
        names = "|" + "|".join(dict.fromkeys(" ".join(meaning_bag(t)) for t in [title, *terms])) + "|"
        weight, adds_with, other_type = static_rank(code.code, code.display, code.billable, code.seventh)
        lead = " ".join(meaning(title))
        yield later, (ranks[code.code], code.display, " ; ".join(terms), names, lead, weight, adds_with, other_type)


def _grouping_rows(tabular: Tabular):
    for seq, chapter in enumerate(tabular.chapters.values()):
        yield (
            chapter_key(chapter.number),
            "chapter",
            chapter.number,
            chapter.title,
            chapter.number,
            chapter.first,
            chapter.last,
            seq,
        )
    for seq, block in enumerate(tabular.blocks.values()):
        yield (block_key(block.id), "block", block.id, block.title, block.chapter, block.first, block.last, seq)


def _note_rows(tabular: Tabular):
    owners = [
        *((chapter_key(c.number), "chapter", c.number, c.notes) for c in tabular.chapters.values()),
        *((block_key(b.id), "block", b.id, b.notes) for b in tabular.blocks.values()),
        *((c.code, "ancestor", c.code, c.notes) for c in tabular.codes.values()),
    ]
    for owner, level, source, notes in owners:
        if notes:
            records = [n.as_record() for n in notes]
            own = fragments.note_entries(records, "code", source) if level == "ancestor" else []
            yield (
                owner,
                _dumps(records),
                fragments.serialize(own),
                fragments.serialize(fragments.note_entries(records, level, source)),
            )


def _scope_rows(tabular: Tabular, editorial: dict[str, dict]):
    """Each code without an editorial file, with the nearest code above it that has one."""
    codes = tabular.codes
    for code in codes.values():
        if code.code in editorial:
            continue
        owner = code.parent
        while owner is not None and owner not in editorial:
            owner = codes[owner].parent
        if owner is not None:
            yield code.code, owner


def _mapped(tabular: Tabular, hcc: HccData):
    """(code, its mappings) of each mapped code that the release holds."""
    return ((code, mappings) for code, mappings in hcc.by_code.items() if code in tabular.codes)


def _hcc_rows(tabular: Tabular, hcc: HccData):
    for code, mappings in _mapped(tabular, hcc):
        for m in mappings:
            yield code, m.model, m.category, ",".join(str(y) for y in sorted(m.years))


def _hcc_entries(tabular: Tabular, hcc: HccData):
    """Each mapped code's $lookup properties: one per model and category, described by its label, with the
    payment years and the categories it trumps and is trumped by; all models', and the current model's."""
    for code, mappings in _mapped(tabular, hcc):
        entries, main = [], []
        for m in sorted(mappings, key=lambda m: (m.model, m.category)):
            key = (m.model, m.category)
            subproperties: list[tuple[str, object, str]] = [("paymentYear", y, "Integer") for y in sorted(m.years)]
            subproperties += [("trumps", c, "Code") for c in hcc.trumps.get(key, ())]
            subproperties += [("trumpedBy", c, "Code") for c in hcc.trumped_by.get(key, ())]
            entry = fragments.property_param(m.model, m.category, "Code", hcc.labels.get(key), subproperties)
            entries.append(entry)
            if m.model == CURRENT_MODEL:
                main.append(entry)
        yield code, fragments.serialize(entries), fragments.serialize(main)


def _risk_families(tabular: Tabular, hcc: HccData, risk: dict[str, dict]):
    """(families, code) of each mapped code of the release: the guidance families of its V28 categories."""
    index = family_index(risk)
    for code, mappings in _mapped(tabular, hcc):
        v28 = sorted((m.category for m in mappings if m.model == CURRENT_MODEL), key=int)
        yield "|".join(families_of(index, v28)), code


def build_release(
    tabular: Tabular,
    label: ReleaseLabel,
    source: ReleaseSource,
    store_dir: Path,
    editorial: dict[str, dict] | None = None,
    valuesets: Sequence[dict] = (),
    lexicon: Sequence[tuple[str, str, str]] = (),
    hcc: HccData | None = None,
    risk: dict[str, dict] | None = None,
) -> BuildStats:
    started = time.perf_counter()
    editorial = editorial or {}
    store_dir.mkdir(parents=True, exist_ok=True)
    final = release_path(store_dir, label.version)
    temporary = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    try:
        connection = sqlite3.connect(temporary)
        with connection:
            connection.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + DDL)
            ranks = _search_ranks(tabular)
            connection.executemany(
                "INSERT INTO concept VALUES (?,?,?,?,?,?,?,?,?,?,?,?,x'','')", _concept_rows(tabular, ranks)
            )
            connection.executemany("INSERT INTO grouping VALUES (?,?,?,?,?,?,?,?)", _grouping_rows(tabular))
            rows = sorted(_search_rows(tabular, ranks, editorial), key=lambda row: row[1][0])  # FTS5: rowid order
            for table, later in (("search", False), ("search_later", True)):
                connection.executemany(
                    f"INSERT INTO {table} (rowid, title, terms, names, lead, weight, adds_with, other_type)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (row for is_later, row in rows if is_later == later),
                )
                connection.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
            connection.executemany("INSERT INTO notes VALUES (?,?,?,?)", _note_rows(tabular))
            connection.executemany("INSERT INTO lexicon VALUES (?,?,?)", lexicon)
            connection.executemany(
                "INSERT INTO valueset VALUES (?,?,?,?)",
                ((v["url"], v.get("version"), v["id"], _dumps(v)) for v in valuesets),
            )
            connection.executemany(
                "INSERT INTO guidance VALUES (?,?)", ((code, _dumps(record)) for code, record in editorial.items())
            )
            connection.executemany("INSERT INTO guidance_scope VALUES (?,?)", _scope_rows(tabular, editorial))
            if hcc is not None:
                connection.executemany("INSERT INTO hcc VALUES (?,?,?,?)", _hcc_rows(tabular, hcc))
                entries = list(_hcc_entries(tabular, hcc))
                connection.executemany("INSERT INTO hcc_entries VALUES (?,?)", ((c, e) for c, e, _ in entries))
                connection.executemany(
                    "UPDATE concept SET hcc = ? WHERE code = ?", ((main, c) for c, _, main in entries if main)
                )
                if risk:
                    connection.executemany(
                        "INSERT INTO risk_guidance VALUES (?,?)", ((f, _dumps(r)) for f, r in risk.items())
                    )
                    connection.executemany(
                        "UPDATE concept SET risk = ? WHERE code = ?", _risk_families(tabular, hcc, risk)
                    )
            meta = {
                "schema_version": SCHEMA_VERSION,
                "hcc_source": hcc.source if hcc is not None else "",
                "version": label.version,
                "fiscal_year": label.fiscal_year,
                "effective": label.effective,
                "source_name": source.name,
                "source_origin": source.origin,
                "source_sha256": source.sha256,
                "codes": str(len(tabular.codes)),
                "billable": str(tabular.billable_count),
                "guidance_files": str(len(editorial)),
                "lexicon_entries": str(len(lexicon)),
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            connection.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
        connection.execute("VACUUM")
        connection.close()
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    return BuildStats(
        final,
        label.version,
        len(tabular.codes),
        tabular.billable_count,
        len(tabular.blocks),
        len(tabular.chapters),
        time.perf_counter() - started,
    )
