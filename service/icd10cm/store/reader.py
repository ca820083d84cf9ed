"""Read-only access to the release files of a store directory.

Each release file is opened read-only and ``immutable`` (we never change a file in place: a
rebuild writes a new file and renames it over the old one, and this process keeps reading the
file it opened), with one connection per thread: a connection serialises its statements, so a
long query on one thread would otherwise hold up every lookup of the worker.

Every statement runs within the request's time budget (``service.budget``): SQLite calls back
every few thousand steps, and a query past its budget is interrupted and answered ``too-costly``.
"""

from __future__ import annotations

import bisect
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import orjson

from ... import budget
from ...errors import StoreError
from ...regex import compile_whole_lines
from ..search import Rank
from .schema import FILE_PREFIX, FILE_SUFFIX, SCHEMA_VERSION


class StaleRelease(StoreError):
    """A release file written by another version of this service."""

    def __init__(self, path: Path, meta: dict):
        super().__init__(
            f"{path}: built by another version of this service; load it again "
            f"(python -m service load {meta.get('source_origin', 'SOURCE')})"
        )
        self.path = path
        self.meta = meta


@dataclass(frozen=True, slots=True)
class ConceptRow:
    code: str
    display: str
    parent: str | None
    billable: bool
    chapter: str
    blocks_text: str  # '|'-separated, innermost first
    ancestors_text: str  # '|'-separated, nearest first
    hierarchy: bytes  # pre-rendered parent and child entries
    seventh: str | None  # a header's required 7th characters, or a generated code's own
    seventh_owner: str | None  # the code whose 7th-character table applies
    hcc: bytes = b""  # the $lookup entries of its current-model risk adjustment category (hcc.CURRENT_MODEL)
    risk: str = ""  # its risk adjustment guidance families, '|'-separated ('' when it maps to no category)

    @property
    def blocks(self) -> list[str]:
        return self.blocks_text.split("|")

    @property
    def ancestors(self) -> list[str]:
        return self.ancestors_text.split("|") if self.ancestors_text else []

    @property
    def children(self) -> list[tuple[str, str]]:
        """(code, display) of each child, read back from the pre-rendered entries."""
        entries = orjson.loads(b"[" + self.hierarchy + b"]")
        return [
            (e["part"][1]["valueCode"], e["part"][2]["valueString"])
            for e in entries
            if e["part"][0]["valueCode"] == "child"
        ]


@dataclass(frozen=True)
class Grouping:
    kind: str  # chapter | block
    id: str
    title: str
    chapter: str
    first: str
    last: str


class Release:
    """One loaded ICD-10-CM release."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self.regex_codes = lru_cache(maxsize=32)(self._regex_codes)
        self._columns: dict[str, tuple[bytes, list[int], list[str]]] = {}
        self._columns_lock = threading.RLock()
        self._connections: list[sqlite3.Connection] = []
        try:
            self.meta = dict(self._rows("SELECT key, value FROM meta"))
            groupings = self._rows("SELECT key, kind, id, title, chapter, first, last FROM grouping ORDER BY kind, seq")
            self.groupings = {row[0]: Grouping(*row[1:]) for row in groupings}
            # The codes with editorial guidance: their own file's, or one inherited from a code above.
            self.guidance_codes = frozenset(
                row[0] for row in self._rows("SELECT code FROM guidance UNION ALL SELECT code FROM guidance_scope")
            )
        except sqlite3.Error as error:
            raise StoreError(f"{path}: not a readable release file ({error})") from error
        if self.meta.get("schema_version") != SCHEMA_VERSION:
            raise StaleRelease(path, self.meta)
        self.version: str = self.meta["version"]
        self.effective: str = self.meta["effective"]
        # Every release is in effect until the fiscal year ends (an April update until September 30 too).
        self.ends = f"{self.meta['fiscal_year']}-09-30"
        self.code_count = int(self.meta["codes"])
        # Every lookup below a chapter reads its notes: keep the most used owners in memory.
        self.notes = lru_cache(maxsize=4096)(self._notes)
        self.note_fragments = lru_cache(maxsize=16384)(self._note_fragments)

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection to the release file."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            db.execute("PRAGMA mmap_size=268435456")
            db.create_function("re2codes", 2, self._regex_codes_json, deterministic=True)
            db.set_progress_handler(budget.exceeded, 4000)
            self._local.db = db
            with self._columns_lock:
                self._connections.append(db)
        return db

    def _rows(self, sql: str, args: tuple = ()) -> list:
        """Every row of a statement, run within the request's time budget."""
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            if budget.exceeded():  # interrupted by the progress handler, or by re2codes
                raise budget.too_costly() from None
            raise

    def _row(self, sql: str, args: tuple = ()):
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    # -- regular expressions --------------------------------------------------------------------------
    def _regex_codes_json(self, pattern: str, column: str) -> bytes:
        """SQL function: the codes whose ``column`` (code or display) the pattern matches whole, as a JSON
        array (``c.code IN (SELECT value FROM json_each(re2codes(?, 'display')))``, evaluated once)."""
        return orjson.dumps(self.regex_codes(pattern, column))

    def _regex_codes(self, pattern: str, column: str) -> list[str]:
        """One RE2 pass over the whole column, joined by newlines: 10-60 ms for the 98,000 titles, against
        a Python call per row before. RE2 runs in linear time; never_nl keeps each match within one line."""
        text, starts, codes = self._column(column)
        regex = compile_whole_lines(pattern)
        found = []
        for number, match in enumerate(regex.finditer(text)):
            if number % 4096 == 4095:
                budget.check()
            found.append(codes[bisect.bisect_right(starts, match.start()) - 1])
        return found

    def _column(self, column: str) -> tuple[bytes, list[int], list[str]]:
        """(the column's values joined by newlines, where each starts, the code of each), built once."""
        with self._columns_lock:
            if column not in self._columns:
                rows = self._rows(f"SELECT code, {_REGEX_COLUMNS[column]} FROM concept ORDER BY seq")
                values = [value.encode() for _, value in rows]
                starts, at = [], 0
                for value in values:
                    starts.append(at)
                    at += len(value) + 1
                self._columns[column] = (b"\n".join(values), starts, [code for code, _ in rows])
            return self._columns[column]

    def concept(self, code: str) -> ConceptRow | None:
        row = self._row(
            "SELECT code, display, parent, billable, chapter, blocks, ancestors, hierarchy, seventh,"
            " seventh_owner, hcc, risk FROM concept WHERE code = ?",
            (code,),
        )
        return None if row is None else ConceptRow(*row)

    def _notes(self, owner: str) -> tuple[dict, ...]:
        row = self._row("SELECT notes FROM notes WHERE owner = ?", (owner,))
        return tuple(orjson.loads(row[0])) if row else ()

    def billable_under(self, category: str) -> list[tuple[str, str]]:
        """(code, display) of the billable codes of a category, in tabular order."""
        return self._rows(  # a range, not LIKE, so that the code index serves it
            "SELECT code, display FROM concept WHERE code >= ? AND code < ? AND billable ORDER BY seq",
            (category, category + "~"),
        )

    def hcc_entries(self, code: str) -> bytes:
        """A code's pre-rendered risk adjustment $lookup properties (b'' for none)."""
        row = self._row("SELECT entries FROM hcc_entries WHERE code = ?", (code,))
        return row[0] if row else b""

    def note_owners_under(self, category: str) -> list[str]:
        """The codes of a category (itself included) that declare notes of their own."""
        return [
            owner
            for (owner,) in self._rows(
                "SELECT owner FROM notes WHERE owner >= ? AND owner < ?", (category, category + "~")
            )
        ]

    def _note_fragments(self, owner: str) -> tuple[bytes, bytes]:
        """(own, inherited) pre-rendered $lookup entries of an owner's notes."""
        row = self._row("SELECT own, inherited FROM notes WHERE owner = ?", (owner,))
        return (row[0], row[1]) if row else (b"", b"")

    def risk_record(self, family: str) -> bytes | None:
        """The risk adjustment guidance record of a family (JSON), if the store has one."""
        row = self._row("SELECT record FROM risk_guidance WHERE family = ?", (family,))
        return row[0] if row else None

    def guidance_record(self, code: str) -> bytes | None:
        """The editorial guidance record of a code (JSON), if it has one."""
        row = self._row("SELECT record FROM guidance WHERE code = ?", (code,))
        return row[0] if row else None

    def editorial_coverage(self) -> list[tuple[str, int, int]]:
        """(category, billable codes with editorial guidance, own or inherited, billable codes) of each category
        that has some."""
        return self._rows(
            "SELECT substr(c.code, 1, 3) AS category,"
            " SUM(g.code IS NOT NULL OR s.code IS NOT NULL) AS covered, COUNT(*)"
            " FROM concept c LEFT JOIN guidance g ON g.code = c.code LEFT JOIN guidance_scope s ON s.code = c.code"
            " WHERE c.billable GROUP BY category HAVING covered > 0 ORDER BY category"
        )

    def risk_families(self) -> list[str]:
        """The risk adjustment guidance families of each billable code that has some ('|'-separated)."""
        return [risk for (risk,) in self._rows("SELECT risk FROM concept WHERE billable AND risk != ''")]

    def guidance_owner(self, code: str) -> str | None:
        """The code above this one whose editorial entry applies to it, when it has none of its own."""
        row = self._row("SELECT owner FROM guidance_scope WHERE code = ?", (code,))
        return row[0] if row else None

    def valuesets(self) -> list[dict]:
        return [orjson.loads(r) for (r,) in self._rows("SELECT resource FROM valueset ORDER BY id")]

    def guidance_records(self) -> dict[str, dict]:
        return {code: orjson.loads(record) for code, record in self._rows("SELECT code, record FROM guidance")}

    def select(
        self,
        condition: str,
        params: tuple,
        *,
        match: str | None = None,
        later: bool = True,
        rank: Rank | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[int, list[tuple[str, str, int]]]:
        """(total, [(code, display, billable)]) of the codes meeting an SQL condition on ``concept c``.

        Without ``match`` (an FTS5 query) they come in tabular order. With it, from the text index, and the
        later-encounter index too when ``later``, in the order of ``rank`` (search.ranking), computed here in
        SQL from the index's columns. A match of more than RANKED_MATCHES codes is too broad to be worth
        ranking (every match is scored): it comes shortest title first, the later encounters after the
        others. Either way the order is fixed by the query, so pages are stable."""
        if match is None:
            total = self._row(f"SELECT count(*) FROM concept c WHERE {condition}", params)[0]
            if limit == 0 or total <= offset:
                return total, []
            return total, self._rows(
                f"SELECT c.code, c.display, c.billable FROM concept c WHERE {condition} ORDER BY c.seq LIMIT ? OFFSET ?",
                (*params, -1 if limit is None else limit, offset),
            )
        tables = _TEXT_TABLES if later else _TEXT_TABLES[:1]
        counts = [self._count(table, condition, params, match) for table in tables]
        total = sum(counts)
        if limit == 0 or total <= offset:
            return total, []
        if rank is not None and total <= RANKED_MATCHES:
            named = " OR ".join(["instr({t}.names, ?) > 0"] * len(rank.names)) or "0"
            # How many of the words the title has, each as the start of one of its words.
            has = " + ".join(["(instr(' ' || {t}.lead, ' ' || ?) > 0)"] * len(rank.words)) or "0"
            score = (
                f"{{t}}.weight - 100 * ({named}) - 50 * (NOT ({named}) AND ({{t}}.lead = ? OR {{t}}.lead LIKE ?))"
                f" + ? * {{t}}.adds_with + ? * {{t}}.other_type - 10.0 * ({has}) / {max(len(rank.words), 1)}"
            )
            score_args = (
                *rank.names,
                *rank.names,
                rank.phrase,
                rank.phrase + " %",
                rank.with_cost,
                rank.type_cost,
                *rank.words,
            )
            parts = [
                f"SELECT c.code, c.display, c.billable, {score.format(t=t)} AS score, {t}.rowid AS r"
                f" FROM {t} JOIN concept c ON c.rank = {t}.rowid WHERE {t} MATCH ? AND {condition}"
                for t in tables
            ]
            rows = self._rows(
                f"{' UNION ALL '.join(parts)} ORDER BY score, r LIMIT ? OFFSET ?",
                (*(score_args + (match, *params)) * len(tables), -1 if limit is None else limit, offset),
            )
            return total, [row[:3] for row in rows]
        # Too many to rank: each table's codes in rowid order, the later encounters after the others.
        rows = []
        skip, wanted = offset, (total if limit is None else limit)
        for table, counted in zip(tables, counts, strict=True):
            if skip >= counted:
                skip -= counted
                continue
            rows += self._rows(
                f"SELECT c.code, c.display, c.billable FROM {table} JOIN concept c ON c.rank = {table}.rowid"
                f" WHERE {table} MATCH ? AND {condition} ORDER BY {table}.rowid LIMIT ? OFFSET ?",
                (match, *params, wanted - len(rows), skip),
            )
            skip = 0
            if len(rows) >= wanted:
                break
        return total, rows

    def count(self, condition: str, params: tuple, match: str, later: bool = True) -> int:
        """How many codes meeting the condition an FTS5 query matches (in the later-encounter index too
        when ``later``)."""
        return sum(self._count(table, condition, params, match) for table in _TEXT_TABLES[: 2 if later else 1])

    def _count(self, table: str, condition: str, params: tuple, match: str) -> int:
        counted = table if condition == "1" else f"{table} JOIN concept c ON c.rank = {table}.rowid"
        return self._row(f"SELECT count(*) FROM {counted} WHERE {table} MATCH ? AND {condition}", (match, *params))[0]

    def vocabulary(self) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
        """(word -> how many codes use it, the lexicon's (term, expansion, kind) rows): read once per release
        by search.Vocabulary (expand.vocabulary keeps it)."""
        docs: dict[str, int] = {}
        for term, count in self._rows(
            "SELECT term, doc FROM search_vocab UNION ALL SELECT term, doc FROM search_later_vocab"
        ):
            docs[term] = docs.get(term, 0) + count
        return docs, self._rows("SELECT term, expansion, kind FROM lexicon ORDER BY rowid")

    def children_of(self, parent: str) -> list[tuple[str, str, int]]:
        """(code, display, billable) of the codes right below ``parent``, in tabular order."""
        return self._rows("SELECT code, display, billable FROM concept WHERE parent = ? ORDER BY seq", (parent,))

    def categories_of(self, block: str) -> list[tuple[str, str, int]]:
        """(code, display, billable) of the categories whose innermost block is ``block``, in tabular order."""
        return self._rows(
            "SELECT code, display, billable FROM concept WHERE parent IS NULL AND (blocks = ? OR blocks LIKE ?) "
            "ORDER BY seq",
            (block, block + "|%"),
        )

    def titled(self, like: str) -> list[tuple[str, str]]:
        """(code, display) of the codes whose title matches an SQL LIKE pattern."""
        return self._rows("SELECT code, display FROM concept WHERE display LIKE ? ORDER BY seq", (like,))

    def all_concepts(self) -> list[tuple[str, str, str | None, int]]:
        """(code, display, parent, billable) of every code, in tabular order."""
        return self._rows("SELECT code, display, parent, billable FROM concept ORDER BY seq")

    def close(self) -> None:
        with self._columns_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
            self._local = threading.local()


RANKED_MATCHES = 500
# The text indexes: every code but the later-encounter ones, and those (schema.py).
_TEXT_TABLES = ("search", "search_later")
_REGEX_COLUMNS = {"code": "code", "display": "display"}  # what a regex filter may name (never SQL from a client)


def open_store(directory: Path) -> list[Release]:
    """Every release file in ``directory``; temporary files of a build in progress are ignored."""
    if not directory.is_dir():
        return []
    return [Release(path) for path in sorted(directory.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"))]
