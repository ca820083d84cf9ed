"""$expand over ICD-10-CM: a compose (or a whole implicit value set), an optional text filter,
paging, and a size guard."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import TooCostly
from .compose import Compiled
from .search import code_prefix, fts_query
from .store.reader import Release


@dataclass
class Expansion:
    total: int
    offset: int
    contains: list[tuple[str, str, int]]  # (code, display, billable)
    version: str


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
    match = None
    if text and text.strip():
        prefix = code_prefix(text)
        if prefix is not None:
            # A code prefix selects a range of the code index.
            sql += " AND c.code >= ? AND c.code < ?"
            params = (*params, prefix, prefix + "\x7f")
        else:
            match = fts_query(text)
            if match is None:
                sql += " AND 0"
    total, rows = release.select(
        sql,
        params,
        match=match,
        phrase=" ".join((text or "").split()),
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
    return Expansion(total, offset, rows, release.version)
