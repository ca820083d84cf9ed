"""What changed from one loaded release to another, derived from the releases themselves.

- ``diff(older, newer)``: the codes added, deleted, retitled, made a header or made billable (each
  read by SQLite over both files at once, in C: 0.2-0.3 s for two whole releases).
- ``History``: each code's changes across the loaded releases, from the diffs of consecutive ones.
  Between two loaded releases that are not consecutive CDC releases a change is dated by the range
  of fiscal years it may fall in ("FY2022-FY2025"): the releases in between are not loaded.
- ``Mapping(source, target)``: where each code of one release goes in another. The code itself when
  the target holds it (a code made a header goes to its new billable codes instead); else the codes
  the tabular's structure gives: under the nearest ancestor both releases hold, the billable codes
  only the target has, with the same 7th character. Narrower when they sit deeper than the code,
  wider when higher, inexact at the same depth; the ancestor itself when nothing new sits below it
  and it is billable; unmatched when the structure gives nothing.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from ..fhir.messages import message
from ..fhir.parameters import property_param
from .releases import FIRST_APRIL_UPDATE
from .store.reader import Release

ADDED, DELETED, REVISED, HEADER, BILLABLE = "added", "deleted", "revised", "header", "billable"
KINDS = (ADDED, DELETED, REVISED, HEADER, BILLABLE)


def _connect(older: Release, newer: Release) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{older.path}?mode=ro&immutable=1", uri=True)
    db.execute("ATTACH DATABASE ? AS n", (f"file:{newer.path}?mode=ro&immutable=1",))
    return db


@dataclass(frozen=True, slots=True)
class Row:
    code: str
    display: str
    billable: bool
    ancestors: tuple[str, ...]  # nearest first
    seventh: str | None  # a 7th-character code's own 7th character


def _row(code: str, display: str, billable: int, ancestors: str, seventh: str | None) -> Row:
    return Row(code, display, bool(billable), tuple(ancestors.split("|")) if ancestors else (), seventh or None)


_ROW = "c.code, c.display, c.billable, c.ancestors, CASE WHEN c.billable THEN c.seventh END"


@dataclass(frozen=True)
class Diff:
    older: Release
    newer: Release
    only_older: dict[str, Row]  # deleted going forward
    only_newer: dict[str, Row]  # added going forward
    retitled: dict[str, tuple[str, str]]  # code -> (old title, new title)
    made_header: dict[str, Row]  # billable in the older, a header in the newer (its row in the newer)
    made_billable: dict[str, Row]  # a header in the older, billable in the newer

    def counts(self) -> dict[str, int]:
        return {
            ADDED: len(self.only_newer),
            DELETED: len(self.only_older),
            REVISED: len(self.retitled),
            HEADER: len(self.made_header),
            BILLABLE: len(self.made_billable),
        }


def diff(older: Release, newer: Release) -> Diff:
    db = _connect(older, newer)
    try:
        only_older = db.execute(
            f"SELECT {_ROW} FROM main.concept c WHERE NOT EXISTS (SELECT 1 FROM n.concept x WHERE x.code = c.code)"
        ).fetchall()
        only_newer = db.execute(
            f"SELECT {_ROW} FROM n.concept c WHERE NOT EXISTS (SELECT 1 FROM main.concept x WHERE x.code = c.code)"
        ).fetchall()
        both = db.execute(
            f"SELECT {_ROW}, o.display, o.billable FROM n.concept c JOIN main.concept o ON o.code = c.code"
            " WHERE o.display != c.display OR o.billable != c.billable"
        ).fetchall()
    finally:
        db.close()
    retitled, made_header, made_billable = {}, {}, {}
    for *row, old_display, old_billable in both:
        now = _row(*row)
        if old_display != now.display:
            retitled[now.code] = (old_display, now.display)
        if old_billable and not now.billable:
            made_header[now.code] = now
        elif now.billable and not old_billable:
            made_billable[now.code] = now
    return Diff(
        older,
        newer,
        {r[0]: _row(*r) for r in only_older},
        {r[0]: _row(*r) for r in only_newer},
        retitled,
        made_header,
        made_billable,
    )


# -- when ---------------------------------------------------------------------------------------
def _fiscal_year(release: Release) -> int:
    return int(release.version[:4])


def _next_release(release: Release) -> tuple[int, str]:
    """(fiscal year, effective date) of the CDC release that follows ``release``: the April 1 update of its
    fiscal year (from FY2023), else the next October 1 release."""
    year = _fiscal_year(release)
    if not release.version.endswith("-04") and year >= FIRST_APRIL_UPDATE and release.effective < f"{year}-04-01":
        return year, f"{year}-04-01"
    return year + 1, f"{year}-10-01"


@dataclass(frozen=True, slots=True)
class Change:
    code: str
    kind: str  # added | deleted | revised | header | billable
    before: Release  # the last loaded release without the change
    after: Release  # the first loaded release with it
    old_title: str | None = None

    @property
    def fiscal_years(self) -> str:
        first, _ = _next_release(self.before)
        last = _fiscal_year(self.after)
        return f"FY{last}" if first >= last else f"FY{first}-FY{last}"

    @property
    def earliest(self) -> str:
        """The first day it may have taken effect: that of the CDC release after ``before``."""
        return min(_next_release(self.before)[1], self.after.effective)

    @property
    def effective(self) -> str:
        """The day it took effect, or the days it may have: "between 2025-10-01 and 2026-04-01"."""
        if self.earliest == self.after.effective:
            return self.after.effective
        return f"between {self.earliest} and {self.after.effective}"

    def text(self) -> str:
        """The change in a sentence, e.g. 'deleted in FY2026 (effective between 2025-10-01 and 2026-04-01; in
        the loaded release 2025-04, not in 2026-04)'."""
        what, was, now = {
            ADDED: ("added", "not in", "in"),
            DELETED: ("deleted", "in", "not in"),
            REVISED: (f"retitled (before: '{self.old_title}')", "the old title in", "the new one in"),
            HEADER: ("made a header (no longer billable)", "billable in", "a header in"),
            BILLABLE: ("made billable", "a header in", "billable in"),
        }[self.kind]
        between = f"{was} the loaded release {self.before.version}; {now} {self.after.version}"
        return f"{what} in {self.fiscal_years} (effective {self.effective}; {between})"


# -- history ------------------------------------------------------------------------------------
class History:
    """Each code's changes across the loaded releases (oldest first), computed on first use."""

    def __init__(self, releases: list[Release]):
        self.releases = sorted(releases, key=lambda r: (r.effective, r.version))
        self.by_version = {r.version: r for r in self.releases}
        self._lock = threading.Lock()
        self._computed: dict[str, tuple[Change, ...]] | None = None
        self.diff = lru_cache(maxsize=16)(self._diff)

    def _diff(self, older: str, newer: str) -> Diff:
        return diff(self.by_version[older], self.by_version[newer])

    def _changes(self) -> dict[str, tuple[Change, ...]]:
        """Every code's changes, from the diffs of consecutive releases: computed once, by the first caller
        (a request, or ``warm`` at start), the others waiting for it."""
        if self._computed is None:
            with self._lock:
                if self._computed is None:
                    self._computed = self._compute()
        return self._computed

    def _compute(self) -> dict[str, tuple[Change, ...]]:
        changes: dict[str, list[Change]] = defaultdict(list)
        for before, after in zip(self.releases, self.releases[1:], strict=False):
            step = self.diff(before.version, after.version)
            for kind, codes in (
                (ADDED, step.only_newer),
                (DELETED, step.only_older),
                (HEADER, step.made_header),
                (BILLABLE, step.made_billable),
            ):
                for code in codes:
                    changes[code].append(Change(code, kind, before, after))
            for code, (old, _) in step.retitled.items():
                changes[code].append(Change(code, REVISED, before, after, old))
        return {code: tuple(found) for code, found in changes.items()}

    def warm(self) -> None:
        """Compute the history now (a worker starts this on a thread, so no request waits for it)."""
        self._changes()

    def of(self, code: str) -> tuple[Change, ...]:
        return self._changes().get(code, ()) if len(self.releases) > 1 else ()

    @lru_cache(maxsize=16)  # noqa: B019 (one History per process, never freed)
    def mapping(self, source: str, target: str) -> Mapping:
        by_version = self.by_version
        older, newer = sorted((by_version[source], by_version[target]), key=self.releases.index)
        step = self.diff(older.version, newer.version)
        return Mapping(step, forward=by_version[source] is older)


# -- mapping ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Target:
    code: str | None
    display: str | None
    equivalence: str  # R4 ConceptMap equivalence: equivalent | narrower | wider | inexact | unmatched
    comment: str | None = None


def _characters(code: str) -> str:
    """A code's characters up to the 6th: without the dot and the 7th character."""
    compact = code.replace(".", "")
    return compact[:6]


def _depth(code: str) -> int:
    """How specific a code is: its characters up to the 6th that say something (the placeholder X says
    nothing; a first character X is a chapter 20 category letter)."""
    characters = _characters(code)
    return 1 + len(characters[1:].replace("X", ""))


def _agrees(source: str, candidate: str, start: int) -> bool:
    """Whether a candidate has every character the source specifies from position ``start`` (a placeholder X
    on either side specifies nothing): T40.7X1A (accidental) goes to T40.711A and T40.721A, not to the other
    intents, and back."""
    given, other = _characters(source), _characters(candidate)
    return all(c == "X" or (i < len(other) and other[i] in ("X", c)) for i, c in enumerate(given) if i >= start)


def _same_words(a: str, b: str) -> bool:
    """Titles that differ only in case, spacing or punctuation: a retitle that keeps the meaning."""
    return re.findall(r"[a-z0-9]+", a.lower()) == re.findall(r"[a-z0-9]+", b.lower())


class Mapping:
    """Where each code of the source release goes in the target release."""

    def __init__(self, step: Diff, forward: bool):
        self.source, self.target = (step.older, step.newer) if forward else (step.newer, step.older)
        self.gone = step.only_older if forward else step.only_newer  # source codes the target lacks
        self.new = step.only_newer if forward else step.only_older  # target codes the source lacks
        self.retitled = {code: (old, new) if forward else (new, old) for code, (old, new) in step.retitled.items()}
        # Source codes that are billable there and headers in the target.
        self.made_header = set(step.made_header if forward else step.made_billable)
        # The target's new codes below each code: billable ones (what a billable code goes to), and all.
        self.new_below: dict[str, list[Row]] = defaultdict(list)
        self.new_any_below: dict[str, list[Row]] = defaultdict(list)
        for row in self.new.values():
            for ancestor in row.ancestors:
                self.new_any_below[ancestor].append(row)
                if row.billable:
                    self.new_below[ancestor].append(row)

    def changed(self) -> list[str]:
        """The source codes that do not simply map to themselves, in code order."""
        return sorted({*self.gone, *self.made_header, *(c for c in self.retitled if c not in self.gone)})

    def translate(self, code: str) -> list[Target]:
        if code in self.gone:
            return self._replacements(self.gone[code])
        concept = self.target.concept(code)
        if concept is None:
            return []  # not a code of the source either
        if code in self.made_header:
            below = self.new_below.get(code, ())
            return [Target(r.code, r.display, "narrower", f"{code} was made a header") for r in below] or [
                Target(code, concept.display, "equivalent", f"{code} is a header in {self.target.version}")
            ]
        if code in self.retitled:
            old, new = self.retitled[code]
            # A reworded title may say another scope ("except buttock and flank"): not simply the same code.
            relation = "equivalent" if _same_words(old, new) else "inexact"
            return [Target(code, concept.display, relation, f"retitled: '{old}' became '{new}'")]
        return [Target(code, concept.display, "equivalent")]

    def _replacements(self, row: Row) -> list[Target]:
        for ancestor in row.ancestors:
            held = self.target.concept(ancestor)
            if held is None:
                continue
            start = len(_characters(ancestor))
            new = self.new_below if row.billable else self.new_any_below
            below = [r for r in new.get(ancestor, ()) if r.seventh == row.seventh and _agrees(row.code, r.code, start)]
            if below and not row.billable:  # a header goes to the headers that take its place, not below them
                shallowest = min(_depth(r.code) for r in below)
                below = [r for r in below if _depth(r.code) == shallowest]
            if below:
                return [Target(r.code, r.display, _relation(row.code, r.code), None) for r in below]
            if held.billable:
                return [Target(held.code, held.display, "wider", None)]
            break
        return [
            Target(None, None, "unmatched", f"the tabular gives {row.code} no counterpart in {self.target.version}")
        ]


def _relation(source: str, target: str) -> str:
    depth, other = _depth(source), _depth(target)
    return "narrower" if other > depth else "wider" if other < depth else "inexact"


# -- what the operations say --------------------------------------------------------------------
_LISTED = 12


@dataclass(frozen=True)
class Absence:
    """Why a release lacks a code that another loaded release holds."""

    what: str  # "deleted in FY2026 (...)", "added in FY2026 (...), so not valid until FY2026"
    targets: list[Target]  # what takes its place in the release asked, for a deleted code

    def issue_text(self, code: str, version: str, date: str | None) -> str:
        on = f" (the release answering for {date[:10]})" if date else ""
        return message("ICD10CM_NOT_IN_RELEASE", code, version, on, self.what)

    def replaced_by(self, version: str) -> str | None:
        return message("ICD10CM_REPLACED_BY", version, replacement_text(self.targets)) if self.targets else None

    def text(self, code: str, version: str, date: str | None) -> str:
        """Both in one sentence, for an error that is a single message ($lookup's 404)."""
        replaced = self.replaced_by(version)
        return self.issue_text(code, version, date) + (f". {replaced}" if replaced else "")


def explain_absence(history: History, release: Release, code: str, day: str) -> Absence | None:
    """Why a code the release lacks is a code of another loaded release, or None when no loaded release
    holds it. ``day`` is the day asked about: past the release's period, a code added later may already be
    valid on it."""
    changes = [c for c in history.of(code) if c.kind in (ADDED, DELETED)]
    deleted = [c for c in changes if c.kind == DELETED and c.after.effective <= release.effective]
    added = [c for c in changes if c.kind == ADDED and c.before.effective >= release.effective]
    if deleted:
        change = deleted[-1]
        targets = [t for t in history.mapping(change.before.version, release.version).translate(code) if t.code]
        return Absence(change.text(), targets)
    if added:
        change = added[0]
        if day >= change.earliest:  # the release in effect on that day, not loaded here, may hold it
            return Absence(f"{change.text()}, so on {day} it may already be valid", [])
        first = change.fiscal_years.split("-")[0]
        until = f"not valid until {first}" + (" at the earliest" if "-" in change.fiscal_years else "")
        return Absence(f"{change.text()}, so {until}", [])
    return None


def uncertain(history: History, release: Release, code: str, day: str) -> list[Change]:
    """The changes of a code that ``release`` predates but that may have taken effect by ``day`` (a day past
    the release's period): on that day the code's status may differ from what the release says."""
    if day <= release.ends:
        return []
    return [c for c in history.of(code) if c.before.effective >= release.effective and c.earliest <= day]


def replacement_text(targets: list[Target]) -> str:
    codes = [t.code for t in targets if t.code]
    listed = ", ".join(codes[:_LISTED]) + (f", ... ({len(codes)} codes)" if len(codes) > _LISTED else "")
    return ("one of " if len(codes) > 1 else "") + listed


def history_entries(changes: tuple[Change, ...]) -> list[dict]:
    """$lookup ``change`` properties: one per change, its details as subproperties."""
    entries = []
    for change in changes:
        subproperties = [
            ("kind", change.kind, "Code"),
            ("fiscalYear", change.fiscal_years, "String"),
            ("effectiveEarliest", change.earliest, "DateTime"),
            ("effectiveLatest", change.after.effective, "DateTime"),
            ("lastRelease", change.before.version, "String"),
            ("firstRelease", change.after.version, "String"),
        ]
        if change.old_title:
            subproperties.append(("previousTitle", change.old_title, "String"))
        entries.append(property_param("change", change.kind, "Code", change.text(), subproperties))
    return entries


# -- what changed between two releases, for people and for software ----------------------------
@dataclass(frozen=True, slots=True)
class Listed:
    change: Change
    display: str  # in the newer release (in the older, for a deleted code)
    previous: str | None = None  # the older title, for a retitled code
    replaced_by: tuple[str, ...] = ()  # what takes its place in the newer release: deleted, or made a header

    @property
    def kind(self) -> str:
        return self.change.kind

    @property
    def code(self) -> str:
        return self.change.code


def listing(history: History, older: str, newer: str) -> list[Listed]:
    """Every change from ``older`` to ``newer``, by kind (in KINDS order), then code."""
    step = history.diff(older, newer)
    forward = history.mapping(older, newer)

    def change(code: str, kind: str, old_title: str | None = None) -> Change:
        return Change(code, kind, step.older, step.newer, old_title)

    def replaced(code: str) -> tuple[str, ...]:
        return tuple(t.code for t in forward.translate(code) if t.code and t.code != code)

    rows = [Listed(change(r.code, ADDED), r.display) for r in step.only_newer.values()]
    rows += [Listed(change(r.code, DELETED), r.display, None, replaced(r.code)) for r in step.only_older.values()]
    rows += [Listed(change(code, REVISED, old), new, old) for code, (old, new) in step.retitled.items()]
    rows += [Listed(change(r.code, HEADER), r.display, None, replaced(r.code)) for r in step.made_header.values()]
    rows += [Listed(change(r.code, BILLABLE), r.display) for r in step.made_billable.values()]
    return sorted(rows, key=lambda r: (KINDS.index(r.kind), r.code))
