"""$expand over ICD-10-CM: a compose (or a whole implicit value set), an optional text filter,
paging, and a size guard."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from ..errors import TooCostly
from .compose import Compiled
from .search import Query, Vocabulary, code_prefix, ranking, relaxations
from .store.reader import Release

# A 7th character other than A (subsequent encounter, sequela, open fracture ...): left out of a text search
# of the whole code system unless the query speaks of the encounter, so each injury shows once.
_NOT_INITIAL = " AND NOT (c.billable = 1 AND coalesce(c.seventh, '') GLOB '[B-Z]')"


@dataclass
class Expansion:
    total: int
    offset: int
    contains: list[tuple[str, str, int]]  # (code, display, billable)
    version: str
    searched: str | None = None  # what the text filter searched, when it is not what was typed


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
    match = query = None
    searched = None
    if text and text.strip():
        prefix = code_prefix(text)
        if prefix is not None:
            # A code prefix selects a range of the code index.
            sql += " AND c.code >= ? AND c.code < ?"
            params = (*params, prefix, prefix + "\x7f")
        else:
            query = vocabulary(release).parse(text)
            if condition.sql == "1" and not query.encounter:
                sql += _NOT_INITIAL
            query = _relaxed(release, query, sql, params)
            match = query.match
            if query.rewritten or query.relaxed:
                searched = query.searched
            if match is None:
                sql += " AND 0"
    total, rows = release.select(
        sql,
        params,
        match=match,
        rank=ranking(query) if query is not None else None,
        # A page is at most max_size codes, whatever count asks: FHIR lets a server
        # return fewer, and the client pages on with offset (total says how far).
        limit=min(count, max_size) if count is not None else max_size + 1,
        offset=offset,
    )
    if count is None and total - offset > max_size:
        raise TooCostly(
            f"The expansion has {total:,} codes, more than this server returns at once ({max_size:,}); "
            "ask for a page with count and offset, or narrow it with filter"
        )
    return Expansion(total, offset, rows, release.version, searched)


def _relaxed(release: Release, query: Query, sql: str, params: tuple) -> Query:
    """The query; when nothing matches it, with short words as prefixes too ("fra"); when still nothing,
    the most of it that some code has."""

    def found(candidate: Query) -> bool:
        match = candidate.match
        return match is not None and release.count(sql, params, match) > 0

    if query.match is None or found(query):
        return query
    query = replace(query, short_prefixes=True)
    if found(query) or len(query.groups) < 2:
        return query
    for groups in relaxations(query):
        relaxed = replace(query, groups=tuple(groups), relaxed=True)
        if found(relaxed):
            return relaxed
    return query
