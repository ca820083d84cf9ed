"""$expand over ICD-10-CM: a compose (or a whole implicit value set), an optional text filter,
paging, and a size guard."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from ..errors import TooCostly
from .compose import Compiled
from .search import Query, Vocabulary, code_prefix, ranking
from .store.reader import Release


@dataclass
class Expansion:
    total: int
    offset: int
    contains: list[tuple[str, str, int]]  # (code, display, billable)
    version: str
    searched: str | None = None  # what the text filter searched, when it is not what was typed
    changes: tuple[tuple[str, str | None], ...] = ()  # (typed, searched instead, or None: let go)


@lru_cache(maxsize=8)
def vocabulary(release: Release) -> Vocabulary:
    return Vocabulary(*release.vocabulary())


def expand(
    release: Release,
    condition: Compiled,
    *,
    text: str | None = None,
    count: int | None = None,
    offset: int = 0,
    exclude_not_for_ui: bool = False,
    max_size: int = 1000,
) -> Expansion:
    sql, params = condition.sql, condition.params
    if exclude_not_for_ui:
        sql += " AND c.billable = 1"
    query = None
    if text and text.strip():
        prefix = code_prefix(text)
        if prefix is not None:
            # A code prefix selects a range of the code index.
            sql += " AND c.code >= ? AND c.code < ?"
            params = (*params, prefix, prefix + "\x7f")
        else:
            query = vocabulary(release).parse(text)
            # In a search of the whole code system each injury shows once, at its initial encounter, unless
            # the query speaks of the encounter.
            query = replace(query, collapse=condition.sql == "1" and not query.encounter)
            if query.match is None:
                sql += " AND 0"
    # A page is at most max_size codes, whatever count asks: FHIR lets a server return fewer, and the
    # client pages on with offset (total says how far).
    limit = min(count, max_size) if count is not None else max_size + 1

    def select(query: Query | None) -> tuple[int, list]:
        if query is None:
            return release.select(sql, params, limit=limit, offset=offset)
        return release.select(
            sql,
            params,
            match=query.match,
            later=not query.collapse,
            rank=ranking(query),
            limit=limit,
            offset=offset,
        )

    total, rows = select(query)
    if total == 0 and query is not None and query.match is not None:
        relaxed = _relaxed(release, query, sql, params)
        if relaxed is not query:
            query = relaxed
            total, rows = select(query)
    if count is None and total - offset > max_size:
        raise TooCostly(
            f"The expansion has {total:,} codes, more than this server returns at once ({max_size:,}); "
            "ask for a page with count and offset, or narrow it with filter"
        )
    if query is None or not (query.rewritten or query.relaxed):
        return Expansion(total, offset, rows, release.version)
    return Expansion(total, offset, rows, release.version, query.searched, query.changes)


def _relaxed(release: Release, query: Query, sql: str, params: tuple) -> Query:
    """When nothing matches the query: it with short words as prefixes too ("fra"); when still nothing,
    the most of the words typed that some code has. The query itself when nothing does."""

    def found(candidate: Query) -> bool:
        match = candidate.match
        return match is not None and release.count(sql, params, match, not candidate.collapse) > 0

    prefixed = replace(query, short_prefixes=True)
    if prefixed.match != query.match and found(prefixed):
        return prefixed
    for relaxed in vocabulary(release).relaxations(prefixed):
        if found(relaxed):
            return relaxed
    return query
