"""$validate-diagnoses: a diagnosis list as a claim carries it, checked as a whole.

The list is ordered: the first code is the principal or first-listed diagnosis. Each finding names the
positions of the codes involved, the check, a severity that says what a claim editor should do (error:
rejected or wrong by the conventions; warning: review, or query the provider; information: a reminder)
and its basis: the tabular note and the level it comes from, or the Official Guidelines section.

The checks use what the guidance uses: the same notes with the same references, and the same placement
rules (``guidance.sequencing`` through the guidance builder), so the two never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, permutations

from ..errors import InvalidRequest
from .codes import ICD10CM, canonical_system
from .guidance.rules import note_elements, where
from .guidance.sequencing import NEVER, ONLY, POISONING, conditional, drug_kind
from .model import Coding
from .store.reader import ConceptRow, Release
from .store.schema import block_key, chapter_key
from .titles import (
    affirmed,
    affirms,
    excluded_line,
    history_subject,
    stem,
    systems,
    uncomplicated,
    without_clauses,
    words,
)

MAX_CODES = 100  # a claim carries at most 25 (837I) or 12 (837P) diagnoses; a list longer than this is refused

ERROR, WARNING, INFORMATION = "error", "warning", "information"


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    positions: tuple[int, ...]  # 1-based, in the list as sent
    severity: str
    text: str
    basis: str


@dataclass(frozen=True, slots=True)
class Note:
    kind: str  # excludes1 | codeFirst | useAdditionalCode ...
    lines: tuple[str, ...]  # the lines of one note element
    refs: tuple[str, ...]  # the codes and ranges it cites
    level: str  # code | ancestor | block | chapter
    source: str  # where it is declared

    @property
    def place(self) -> str:
        return where(self.level, self.source)


@dataclass(slots=True)
class Entry:
    position: int
    code: str  # normalized
    concept: ConceptRow  # a code of the release
    valid: bool = True  # billable on the date (a header is a code, and invalid: a finding of its own)
    admitted: str | None = None  # present on admission, as a Claim says it: y | n | u | w; None when not said


def covers(ref: str, code: str) -> bool:
    """Whether a note reference covers a code: a range (``C00-D49``, ``E08-E13``) covers the codes of its
    categories, anything else the code it names and all below it (``Z79.85``, ``E85-``, ``M46.4-``)."""
    ref = ref.removesuffix("-")
    if "-" in ref:
        first, last = ref.split("-", 1)
        return first <= code[: len(first)] <= last
    return code.startswith(ref)


def _elements(notes: tuple[dict, ...], kind: str, level: str, source: str) -> list[Note]:
    """The note elements of one kind declared at ``source``, grouped as the guidance groups them, but each
    Excludes1 line stands alone, and a "use additional code" line that says "code ..." again is a requirement
    of its own (I13.0: the heart failure, and the stage of the CKD)."""
    starts = _STARTS.get(kind, lambda note: False)
    return [
        Note(kind, tuple(n["text"] for n in group), tuple(r for n in group for r in n.get("refs", ())), level, source)
        for group in note_elements(notes, kind, starts)
    ]


_STARTS = {
    "excludes1": lambda note: True,
    "excludes2": lambda note: True,
    "useAdditionalCode": lambda note: note["text"].lower().startswith("code"),
}


class DiagnosisChecker:
    """Checks the lists of one release."""

    def __init__(self, release: Release, guidance):
        self.release = release
        self.guidance = guidance  # the release's GuidanceBuilder (placement rules)
        self._concept = lru_cache(maxsize=65536)(release.concept)  # rows are read for several kinds and checks
        self._notes = lru_cache(maxsize=131072)(self._applying)  # (code, kind): several kinds a code
        self._declared = lru_cache(maxsize=65536)(self._declared_at)
        self._chapters_of_symptoms = lru_cache(maxsize=64)(self._systems_of)
        self._requests = lru_cache(maxsize=4096)(self._requested)
        self._joins = lru_cache(maxsize=32768)(self._joining)
        self._word_index = lru_cache(maxsize=2048)(self._indexed)
        self._title = lru_cache(maxsize=65536)(self._titled_as)
        self._hypertensive_heart: tuple[str, ...] | None = None
        self._titles_of = lru_cache(maxsize=16384)(self._read_titles)
        self._synonyms = lru_cache(maxsize=16384)(self._read_synonyms)

    def notes(self, concept: ConceptRow, kind: str) -> tuple[Note, ...]:
        return self._notes(concept.code, kind)

    def _applying(self, code: str, kind: str) -> tuple[Note, ...]:
        """The note elements of a kind that apply to a code: its own, its ancestors', its blocks', its chapter's."""
        concept = self._concept(code)
        assert concept is not None, code
        owners = [("code", concept.code)] + [("ancestor", a) for a in concept.ancestors]
        owners += [("block", b) for b in concept.blocks] + [("chapter", concept.chapter)]
        return tuple(note for level, source in owners for note in self._declared(level, source, kind))

    def _declared_at(self, level: str, source: str, kind: str) -> tuple[Note, ...]:
        """The note elements of a kind that one code, block or chapter declares (many codes share them)."""
        key = block_key(source) if level == "block" else chapter_key(source) if level == "chapter" else source
        return tuple(_elements(self.release.notes(key), kind, level, source))

    def check(self, entries: list[Entry]) -> list[Finding]:
        findings: list[Finding] = self._duplicates(entries) + self._with_ancestor(entries)  # headers included
        valid = [e for e in entries if e.valid]
        for check in (
            self._excludes1,
            self._placement,
            self._pregnancy,
            self._code_first,
            self._use_additional,
            self._unspecified,
            self._bilateral,
            self._seventh,
            self._hypertension,
            self._combination,
            self._contradictory,
            self._history,
            self._symptoms,
            self._sepsis,
            self._single_delivery,
            self._poisoning,
        ):
            findings += check(valid)
        # A code never first only because its "code first" note says so (Z3A, Z17), listed ahead of what the
        # note names: the order finding says it, once.
        reordered = {f.positions[1] for f in findings if f.check == "code-first-order"}
        # A finding that another on the same pair makes redundant is left out (_YIELDS).
        said = {(f.check, frozenset(f.positions)) for f in findings}
        return [
            f
            for f in findings
            if not (f.check == "never-first" and f.positions[0] in reordered)
            and not any((stronger, frozenset(f.positions)) in said for stronger in _YIELDS.get(f.check, ()))
        ]

    # -- the same code twice, a code with its own header ---------------------------------------------------
    @staticmethod
    def _duplicates(entries: list[Entry]) -> list[Finding]:
        seen: dict[str, Entry] = {}
        found = []
        for entry in entries:
            if entry.code in seen:
                found.append(
                    Finding(
                        "duplicate",
                        (seen[entry.code].position, entry.position),
                        ERROR,
                        f"{entry.code} is listed twice: report each code once.",
                        "Official Guidelines I.B.12 (a code is reported once for an encounter)",
                    )
                )
            else:
                seen[entry.code] = entry
        return found

    @staticmethod
    def _with_ancestor(entries: list[Entry]) -> list[Finding]:
        found = []
        for a, b in combinations(entries, 2):
            for upper, lower in ((a, b), (b, a)):
                if upper.code in lower.concept.ancestors:
                    found.append(
                        Finding(
                            "with-ancestor",
                            tuple(sorted((upper.position, lower.position))),
                            ERROR,
                            f"{upper.code} is above {lower.code} in the tabular: report only the most specific code.",
                            "Official Guidelines I.B.2 (the highest level of detail) and I.A.2",
                        )
                    )
        return found

    # -- Excludes1 -------------------------------------------------------------------------------------------
    def _excludes1(self, entries: list[Entry]) -> list[Finding]:
        found = []
        for a, b in combinations(entries, 2):
            hit = self._excluded(a, b) or self._excluded(b, a)
            if hit is None:
                continue
            note, holder, other, broad = hit
            place = f"of {holder.code}" if note.level == "code" else f"at {note.place}, above {holder.code}"
            text = f"{other.code} falls under the Excludes1 note {place} ('{note.lines[0]}'): the two are not coded together"
            text += (
                ", unless the two conditions are unrelated; a note this broad may not mean this pair: review, or "
                "query the provider."
                if broad
                else ", unless the two conditions are unrelated to each other (then both may be reported)."
            )
            found.append(
                Finding(
                    "excludes1",
                    (a.position, b.position),
                    WARNING if broad else ERROR,
                    text,
                    f"Tabular Excludes1 at {note.place}; Official Guidelines I.A.12.a",
                )
            )
        return found

    def _excluded(self, holder: Entry, other: Entry) -> tuple[Note, Entry, Entry, bool] | None:
        """The Excludes1 note applying to ``holder`` that covers ``other``, and whether it is broad (a block's or
        chapter's note, or a line that points to a whole chapter): a warning, not an error."""
        for note in self.notes(holder.concept, "excludes1"):
            far = note.level in ("block", "chapter")
            if any(covers(ref, other.code) for ref in note.refs):
                return note, holder, other, far
            line = excluded_line(note.lines[0]) if not note.refs else None
            if line is None:
                continue
            # A line without a code in parentheses names what it excludes by the codes its pointer writes ("see
            # categories E08-E10, E11"), by its term's words in the other's titles ("sepsis - code to infection";
            # "confirmed infection": L03's block, "Infections of the skin"), or by the titles its pointer names
            # ("code to sign or symptom": chapter 18) - unless the holder's own title expects such codes (Z00.01,
            # "with abnormal findings", takes the findings of chapter 18).
            titles = self._titles(other.concept)
            said = words(other.concept.display)
            if any(covers(code, other.code) for code in line.codes) and line.qualifier <= said:
                return note, holder, other, far
            if line.term and any(line.term <= title for title in titles.values()):
                return note, holder, other, far
            # What the pointer names is in the other's titles, and not in a grouping the holder shares ("nerve
            # injury": not the holder's own block, "Nerve, nerve root and plexus disorders") nor one the holder's
            # title expects (Z00.01, "with abnormal findings", takes chapter 18's findings).
            theirs = {key: {stem(w) for w in t} for key, t in titles.items() if key not in self._titles(holder.concept)}
            if line.pointer and line.pointer <= set().union(*theirs.values()):
                groupings = [titles[key] for key, t in theirs.items() if key != other.code and line.pointer & t]
                if not words(holder.concept.display) & frozenset().union(*groupings) - _EXPECTED_FILLER:
                    return note, holder, other, far
        return None

    def _titles(self, concept: ConceptRow) -> dict[str, frozenset[str]]:
        """The words of a code's title, and of its category's, blocks' and chapter's titles, by grouping."""
        return self._titles_of(concept.code)

    def _read_titles(self, code: str) -> dict[str, frozenset[str]]:
        concept = self._concept(code)
        assert concept is not None, code
        groupings = self.release.groupings
        keys = [block_key(b) for b in concept.blocks] + [chapter_key(concept.chapter)]
        found = {concept.code: words(concept.display), concept.code[:3]: words(self._title(concept.code[:3]))}
        return found | {key: words(groupings[key].title) for key in keys if key in groupings}

    # -- where codes may stand -------------------------------------------------------------------------------
    def _placement(self, entries: list[Entry]) -> list[Finding]:
        found = []
        for entry in entries:
            guidance = self.guidance.build(entry.concept, "rules")
            rule = next((r for r in guidance.code_rules if r.rule in _CHECK_OF_RULE), None)
            if guidance.first_listed == NEVER and entry.position == 1 and rule is not None:
                found.append(
                    Finding(
                        _CHECK_OF_RULE[rule.rule], (1,), ERROR, f"{entry.code} is listed first: {rule.text}", rule.basis
                    )
                )
            elif guidance.first_listed == ONLY and entry.position != 1 and rule is not None:
                found.append(
                    Finding(
                        "first-only-not-first",
                        (entry.position,),
                        ERROR,
                        f"{entry.code} is not listed first: {rule.text}",
                        rule.basis,
                    )
                )
        return found

    @staticmethod
    def _pregnancy(entries: list[Entry]) -> list[Finding]:
        pregnancy = [e for e in entries if e.concept.chapter == "15"]
        if not pregnancy or entries[0].position != 1 or entries[0].concept.chapter == "15":
            return []
        first = pregnancy[0]
        return [
            Finding(
                "pregnancy-not-first",
                (entries[0].position, first.position),
                ERROR,
                f"{first.code} is a pregnancy code (chapter 15) listed after {entries[0].code}: chapter 15 codes are "
                "sequenced first; if the pregnancy is incidental to the encounter, Z33.1 replaces them.",
                "Official Guidelines I.C.15.a.1",
            )
        ]

    # -- code first, use additional code ---------------------------------------------------------------------
    def _code_first(self, entries: list[Entry]) -> list[Finding]:
        """A code's own "code first" notes and its category's or subcategory's (a block's are general)."""
        found = []
        for entry in entries:
            for note in self.notes(entry.concept, "codeFirst"):
                if not note.refs or note.level not in _NEAR:
                    continue
                present = [e for e in entries if e is not entry and any(covers(r, e.code) for r in note.refs)]
                present = present or [e for e in entries if e is not entry and self._such_as(note, e)]
                text = " ".join(note.lines)
                basis = f"Tabular 'code first' note at {note.place}; Official Guidelines I.A.13 and I.B.7"
                if not present:
                    # "If applicable", "any associated": a reminder; otherwise the etiology is missing: a query.
                    maybe = any(conditional(line) for line in note.lines)
                    asks = (
                        "when the record shows one of the conditions it names, code that condition first"
                        if maybe
                        else "no code of the list is one of those it names: query the provider for the etiology"
                    )
                    found.append(
                        Finding(
                            "code-first-missing",
                            (entry.position,),
                            INFORMATION if maybe else WARNING,
                            f"{entry.code} asks to code first the underlying condition ('{text}'): {asks}.",
                            basis,
                        )
                    )
                elif present and all(underlying.position > entry.position for underlying in present):
                    underlying = present[0]
                    found.append(
                        Finding(
                            "code-first-order",
                            (underlying.position, entry.position),
                            ERROR,
                            f"{underlying.code} is the underlying condition that {entry.code} asks to code first "
                            f"('{text}'): list it before {entry.code}.",
                            basis,
                        )
                    )
        return found

    def _such_as(self, note: Note, entry: Entry) -> bool:
        """Whether a code meets a note whose codes are examples ("underlying infection, such as: ..."): its
        titles (its own, its category's, block's or chapter's) have the heading's condition words. A heading
        of general words ("underlying disease, such as") names nothing to match."""
        heading = note.lines[0].lower()
        if "such as" not in heading:
            return False
        wanted = {stem(w) for w in words(heading.split("such as")[0])} - _GENERAL_STEMS
        return bool(wanted) and any(
            wanted <= {stem(w) for w in title} for title in self._titles(entry.concept).values()
        )

    def _use_additional(self, entries: list[Entry]) -> list[Finding]:
        found: list[Finding] = []
        reminded: dict[tuple[str, tuple[str, ...]], int] = {}  # a note element -> its finding
        z3a_done = False
        for entry in entries:
            for note in self.notes(entry.concept, "useAdditionalCode"):
                weeks = any(ref.rstrip("-") == "Z3A" for ref in note.refs)
                if not note.refs or (note.level not in _NEAR and not weeks):
                    continue  # a block's or chapter's notes are general reminders, but for the weeks of gestation
                if any(covers(r, e.code) for e in entries for r in note.refs if e is not entry):
                    continue
                if not self._accepts(note.refs, entry.code):
                    continue  # what the note names does not take this code (Z3A goes with O09-O60, O80-O82 ...)
                basis = f"Tabular 'use additional code' note at {note.place}; Official Guidelines I.A.13 and I.B.7"
                if weeks:
                    if z3a_done:
                        continue
                    z3a_done = True
                    found.append(
                        Finding(
                            "z3a-missing",
                            (entry.position,),
                            INFORMATION,
                            f"{entry.code}: add a code from category Z3A for the weeks of gestation, when the "
                            "record states them.",
                            f"{basis}; I.C.15.a.2 and I.C.21.c.11 (Z3A)",
                        )
                    )
                    continue
                earlier = reminded.get((note.source, note.lines))
                if earlier is not None:  # a category's note, for a second code of it: one reminder names both
                    found[earlier] = _also_for(found[earlier], entry)
                    continue
                reminded[(note.source, note.lines)] = len(found)
                found.append(
                    Finding(
                        "use-additional",
                        (entry.position,),
                        INFORMATION,
                        f"{entry.code}: add {_alternatives(note.refs)} when the record supports it ({_purpose(note)}).",
                        basis,
                    )
                )
        return found

    def _accepts(self, refs: tuple[str, ...], code: str) -> bool:
        """Whether the codes a note names may go with ``code``: a named category whose own "code first" note
        lists the codes it goes with must list this one."""
        for ref in refs:
            named = self._concept(ref.removesuffix("-"))
            if named is None:
                return True
            own = [n for n in self.notes(named, "codeFirst") if n.level == "code" and n.refs]
            if not own or any(covers(r, code) for n in own for r in n.refs):
                return True
        return False

    def _titled_as(self, code: str) -> str:
        concept = self._concept(code)
        return concept.display if concept else code

    @staticmethod
    def _single_delivery(entries: list[Entry]) -> list[Finding]:
        """O80 (encounter for full-term uncomplicated delivery) is the only chapter 15 code of its encounter."""
        delivery = next((e for e in entries if e.code == "O80"), None)
        others = [e for e in entries if e.concept.chapter == "15" and e is not delivery]
        if delivery is None or not others:
            return []
        text = (
            f"O80 is for an uncomplicated delivery and is never reported with another chapter 15 code: with "
            f"{', '.join(e.code for e in others)}, the delivery was not uncomplicated; code those conditions instead."
        )
        positions = tuple(sorted((delivery.position, *(e.position for e in others))))
        return [Finding("single-diagnosis", positions, ERROR, text, "Official Guidelines I.C.15.n.1")]

    @staticmethod
    def _poisoning(entries: list[Entry]) -> list[Finding]:
        """A poisoning (T36-T50, 6th character 1-4) is sequenced before its manifestations: listed after a code of
        another chapter, the order may be wrong."""
        poisonings = [e for e in entries if drug_kind(e.code) == POISONING]
        if not poisonings or entries[0] in poisonings or drug_kind(entries[0].code) is not None:
            return []
        first = poisonings[0]
        text = (
            f"{first.code} is a poisoning listed after {entries[0].code}: a poisoning code comes first, followed by "
            "the codes of its manifestations; if the first code is not a manifestation of the poisoning, the order "
            "may stand."
        )
        return [
            Finding(
                "poisoning-not-first",
                (entries[0].position, first.position),
                WARNING,
                text,
                "Official Guidelines I.C.19.e.5(b)",
            )
        ]

    # -- hypertension with heart or kidney involvement --------------------------------------------------------
    def _hypertension(self, entries: list[Entry]) -> list[Finding]:
        """I.C.9.a presumes hypertension related to heart failure and to chronic kidney disease: essential
        hypertension (I10) with them is reported by the combination category I11, I12 or I13, which includes
        the hypertension."""
        essential = [e for e in entries if e.code == "I10"]
        if not essential:
            return self._hypertensive_both(entries)
        combined = [e for e in entries if e.code[:3] in ("I11", "I12", "I13")]
        if combined:
            text = (
                f"{combined[0].code} ({self._title(combined[0].code[:3])}) includes the hypertension: I10 is not "
                "reported with it."
            )
            positions = tuple(sorted((essential[0].position, combined[0].position)))
            return [Finding("combination", positions, ERROR, text, "Official Guidelines I.C.9.a.1-a.3")]
        heart = [e for e in entries if self._heart(e.code)]
        kidney = [e for e in entries if e.code.startswith("N18")]
        if not heart and not kidney:
            return []
        category = "I13" if heart and kidney else "I11" if heart else "I12"
        involved = sorted(e.position for e in (*essential, *heart[:1], *kidney[:1]))
        involvement = " and ".join(
            name for name, present in (("heart disease", heart), ("chronic kidney disease", kidney)) if present
        )
        text = (
            f"Hypertension with {involvement} is presumed related: report a code of {category} "
            f"({self._title(category)}) instead of I10, keeping the codes that say the type of heart failure and "
            "the stage of the kidney disease, unless the provider documents that they are unrelated."
        )
        basis = {"I11": "Official Guidelines I.C.9.a.1", "I12": "Official Guidelines I.C.9.a.2"}.get(
            category, "Official Guidelines I.C.9.a.3"
        )
        return [Finding("combination", tuple(involved), ERROR, text, basis)]

    def _heart(self, code: str) -> bool:
        """A heart condition that I.C.9.a.1 presumes hypertensive: one that I11's Includes note names ("any
        condition in I50.- or I51.4-I51.7, I51.89, I51.9 due to hypertension")."""
        if self._hypertensive_heart is None:
            notes = self.release.notes("I11")
            self._hypertensive_heart = tuple(r for n in notes if n.get("type") == "includes" for r in n.get("refs", ()))
        return any(covers(ref, code) for ref in self._hypertensive_heart)

    def _hypertensive_both(self, entries: list[Entry]) -> list[Finding]:
        """Hypertensive heart disease (I11) with chronic kidney disease, or hypertensive chronic kidney disease
        (I12) with heart failure: both involvements are I13's (I.C.9.a.3)."""
        if any(e.code.startswith("I13") for e in entries):
            return []
        heart = [e for e in entries if e.code.startswith("I11") or self._heart(e.code)]
        kidney = [e for e in entries if e.code.startswith(("I12", "N18"))]
        hypertensive = [e for e in (*heart, *kidney) if e.code.startswith(("I11", "I12"))]
        if not hypertensive or not heart or not kidney:
            return []
        involved = sorted({hypertensive[0].position, heart[0].position, kidney[0].position})
        text = (
            f"Hypertension with both heart disease and chronic kidney disease is presumed related to both: report a "
            f"code of I13 ({self._title('I13')}) in place of {hypertensive[0].code}, keeping the codes that say the "
            "type of heart failure and the stage of the kidney disease."
        )
        return [Finding("combination", tuple(involved), ERROR, text, "Official Guidelines I.C.9.a.3")]

    # -- combination codes the tabular names -----------------------------------------------------------------
    def _combination(self, entries: list[Entry]) -> list[Finding]:
        """Two codes that a third code joins: a note of one names a code in the other's category (N18's "code
        first diabetic chronic kidney disease (E11.22)" beside E11.9; J20's "acute bronchitis with chronic
        obstructive pulmonary disease (J44.0)" beside J44.9); a code in one's category asks in its own note for the
        other (E11.621's "use additional code to identify site of ulcer (L97.4-)" beside E11.9 and L97.412); a code
        in one's category says the other in its title (E10.42 for E10.9 and G62.9); or, in one category, a code
        says what both say (J96.21, acute and chronic, for J96.01 and J96.11)."""
        found, seen = [], set()
        # What each code's category offers, once a list: most pairs have nothing to look at.
        named = {e.code: {target[:3] for target, _ in self._joins(e.code)} for e in entries}
        offers = {e.code[:3]: bool(self._requests(e.code[:3]) or self._word_index(e.code[:3])) for e in entries}
        for x, y in permutations(entries, 2):
            pair = tuple(sorted((x.position, y.position)))
            if pair in seen:
                continue
            joined: tuple[str, Note | None, str] | None = None
            if x.code[:3] == y.code[:3]:
                joined = self._merged(x, y, entries) if offers[x.code[:3]] else None
            else:
                if x.code[:3] in named[y.code]:
                    joined = self._named_by(y, x, entries)
                if joined is None and offers[x.code[:3]]:
                    joined = self._asking_for(x, y, entries) or self._titled(x, y, entries)
            # The code that joins them is a form of x's condition, not another disease of its category (N77.0's
            # "code first Behcet's disease (M35.2)" is no combination for M35.02).
            if joined is None or not words(x.concept.display) & words(self._title(joined[0])):
                continue
            seen.add(pair)
            target, note, holder = joined
            title = self._title(target) if self._concept(target) else target
            code = target if self._billable(target) else f"a code of {target}-"
            if note is None and x.code[:3] == y.code[:3]:  # one category: acute and chronic
                said = "its title says what both say"
                basis = "Tabular titles; Official Guidelines I.B.8 (acute and chronic conditions) and I.B.9"
            elif note is None:  # read from the titles: the target's title says both conditions
                said = f"its title has the words of {y.code} ({y.concept.display})"
                basis = "Tabular titles; Official Guidelines I.B.9 (combination codes) and I.A.15 ('with')"
            else:
                kind = _NOTE_WORDS.get(note.kind, note.kind)
                said = f"the tabular's {kind} note at {holder} says so ('{_line_naming(note, target)}')"
                basis = f"Tabular {kind} note at {holder}; Official Guidelines I.B.9 (combination codes) and I.A.15 ('with')"
            text = (
                f"{x.code} and {y.code} are joined by {code} ({title}): {said}. Report {code}; keep {x.code} only if "
                f"it codes something {target} does not."
            )
            if "E08" <= x.code[:3] <= "E13":
                basis += "; I.C.4.a (diabetes: as many codes of the category as the complications need)"
            found.append(Finding("combination", pair, ERROR, text, basis))
        return found

    def _named_by(self, holder: Entry, other: Entry, entries: list[Entry]) -> tuple[str, Note, str] | None:
        """A code in ``other``'s category, below it, that a note applying to ``holder`` names, when no code of the
        list is that code yet."""
        for target, note in self._joins(holder.code):
            if target[:3] != other.code[:3] or _met(note, holder, entries):
                continue
            # Not when the other already is what the note asks for ("underlying infection, such as: ... sepsis
            # NOS (A41.9)" beside A41.51), nor for an unspecified target: a combination is specific.
            if self._such_as(note, other) or _UNSPECIFIED.search(self._title(target)):
                continue
            return target, note, holder.code if note.level == "code" else note.source
        return None

    def _joining(self, code: str) -> tuple[tuple[str, Note], ...]:
        """The codes below a category that the notes applying to a code name, each with its note."""
        concept = self._concept(code)
        assert concept is not None, code
        found = []
        for kind in _JOINING:
            for note in self.notes(concept, kind):
                if note.level not in _NEAR:
                    continue
                for ref in note.refs:
                    target = ref.removesuffix("-")
                    if "-" in target or len(target) <= 3:
                        continue
                    if note.kind == "codeFirst" or _this_with(_line_naming(note, target), concept.display):
                        found.append((target, note))
        return tuple(found)

    def _asking_for(self, near: Entry, other: Entry, entries: list[Entry]) -> tuple[str, Note, str] | None:
        """A code in ``near``'s category, off ``near``'s own branch, whose own note asks for ``other`` (when
        ``near``'s notes do not ask for it too: N40.1 and N40.3 both take the symptoms)."""
        asking = [
            (owner, note)
            for owner, note in self._requests(near.code[:3])
            if not covers(owner, near.code) and any(covers(ref, other.code) for ref in note.refs)
        ]
        if not asking or self._asks(near, other, _NEAR):
            return None
        for owner, note in asking:
            if not any(covers(owner, e.code) for e in entries) and not _met(note, other, entries):
                return owner, note, owner
        return None

    def _titled(self, near: Entry, other: Entry, entries: list[Entry]) -> tuple[str, None, str] | None:
        """A billable code of ``near``'s category whose title has every word of ``other``'s title (E10.42, "Type 1
        diabetes mellitus with diabetic polyneuropathy", for E10.9 and G62.9; I69.351 for I69.30 and G81.91):
        the classification's combination of the two (the "with" convention, I.A.15). Of several, the one sharing
        most words with ``near``."""
        own = affirmed(near.concept.display)
        if words(self._title(other.code[:3])) <= own:
            return None  # two of one kind (E08 and E13 diabetes): alternatives, not a combination
        # The other's title, or one of its inclusion terms (I73.9's "Peripheral angiopathy NOS" for E11.51).
        for wanted in (words(other.concept.display), *self._synonyms(other.code)):
            if wanted and not wanted <= own:
                found = self._containing(near.code[:3], wanted, entries)
                if found:
                    best = max(sorted(found), key=lambda code: len(own & words(self._title(code))))
                    return best, None, best
        return None

    def _merged(self, a: Entry, b: Entry, entries: list[Entry]) -> tuple[str, None, str] | None:
        """A code of the two's category whose title says what both say (J96.01 and J96.11: J96.21, acute and
        chronic respiratory failure with hypoxia; I.B.8)."""
        if a.code == b.code or a.code in b.concept.ancestors or b.code in a.concept.ancestors:
            return None
        if uncomplicated(a.concept.display) or uncomplicated(b.concept.display):
            return None  # "uncomplicated" beside a complication contradicts; it joins nothing
        wanted = affirmed(a.concept.display) | affirmed(b.concept.display)
        found = {code for code in self._containing(a.code[:3], wanted, entries) if " and " in self._title(code)}
        best = min(sorted(found), key=lambda code: len(words(self._title(code)))) if found else None
        return (best, None, best) if best else None

    def _read_synonyms(self, code: str) -> tuple[frozenset[str], ...]:
        """The words of a code's own inclusion terms."""
        return tuple(words(n["text"]) for n in self.release.notes(code) if n.get("type") == "inclusionTerm")

    def _containing(self, category: str, wanted: frozenset[str], entries: list[Entry]) -> frozenset[str]:
        """The billable combination codes of a category (titles that join two conditions) whose titles have
        every wanted word, that the list lacks."""
        index = self._word_index(category)
        if not wanted or not wanted <= index.keys():  # most pairs: a word no combination title of it has
            return frozenset()
        having = sorted((index[word] for word in wanted), key=len)
        return having[0].intersection(*having[1:]) - {e.code for e in entries}

    def _indexed(self, category: str) -> dict[str, frozenset[str]]:
        """Each word of a category's billable combination titles (those that join two conditions), with the
        codes whose titles have it (every category: about 15 MB)."""
        index: dict[str, set[str]] = {}
        for code, display in self.release.billable_under(category):
            # Not the 7th-character codes of injuries: "with routine healing" joins no second condition.
            if "encounter" not in display and _JOINED.search(display):
                for word in words.__wrapped__(display):  # not kept in words' cache: most titles are read once
                    index.setdefault(word, set()).add(code)
        return {word: frozenset(codes) for word, codes in index.items()}

    def _requested(self, category: str) -> tuple[tuple[str, Note], ...]:
        """The "use additional code" notes that codes below a category declare, with references within one
        category (the category's own notes apply to all its codes alike; a "code also" note lists associated
        conditions, not the other half of a combination)."""
        found = []
        for owner in self.release.note_owners_under(category):
            if owner == category:
                continue
            for kind in ("useAdditionalCode",):
                for note in _elements(self.release.notes(owner), kind, "code", owner):
                    refs = tuple(ref for ref in note.refs if _narrow(ref))
                    if refs:
                        found.append((owner, Note(note.kind, note.lines, refs, note.level, note.source)))
        return tuple(found)

    def _billable(self, code: str) -> bool:
        concept = self._concept(code)
        return concept is not None and concept.billable

    # -- codes that contradict each other ---------------------------------------------------------------------
    def _contradictory(self, entries: list[Entry]) -> list[Finding]:
        """Two codes of one category that say opposite things: "without complications" beside a code of its
        branch "with" one (E11.9 and E11.22); "without X" beside "with X" (S06.0X0A and S06.0X1A)."""
        found = []
        for a, b in combinations(entries, 2):
            if a.code[:3] != b.code[:3] or a.code in b.concept.ancestors or b.code in a.concept.ancestors:
                continue
            for one, other in ((a, b), (b, a)):
                said, denied = other.concept.display, one.concept.display
                if uncomplicated(denied) and one.concept.parent in other.concept.ancestors and _WITH.search(said):
                    text = (
                        f"{one.code} says the condition is without complications, and {other.code} codes it with "
                        f"one: report {other.code} (and as many codes of {one.code[:3]} as the complications need), "
                        f"not {one.code}."
                    )
                    basis = "Tabular titles; Official Guidelines I.B.9 (combination codes)"
                    if "E08" <= one.code[:3] <= "E13":
                        basis += " and I.C.4.a (diabetes)"
                    found.append(Finding("contradictory", (a.position, b.position), ERROR, text, basis))
                    break
                denial = next((alt for alts in without_clauses(denied) for alt in alts if affirms(said, alt)), None)
                if denial is not None:
                    text = (
                        f"{one.code} says without {denial} and {other.code} with {denial}: one condition cannot be "
                        "both; report the code the record supports."
                    )
                    basis = "Tabular titles; Official Guidelines I.A.19 (code assignment follows the documentation)"
                    found.append(Finding("contradictory", (a.position, b.position), ERROR, text, basis))
                    break
        return found

    def _history(self, entries: list[Entry]) -> list[Finding]:
        """A "personal history of" code beside a code of the same condition as current (Z85.3 with C50.911)."""
        found = []
        for past in entries:
            subject = history_subject(past.concept.display)
            if not subject:
                continue
            for current in entries:
                if current.code[0] == "Z" or not subject <= words(current.concept.display):
                    continue
                text = (
                    f"{past.code} says the condition is past (no longer present and not treated), and {current.code} "
                    f"codes it as current: report {current.code} while it is present or under treatment, "
                    f"{past.code} once it is gone."
                )
                basis = "Official Guidelines I.C.21.c.4 (history codes)"
                if past.code.startswith("Z85"):
                    basis += " and I.C.2.d (a malignancy excised or eradicated, with no further treatment)"
                # Definite when an Excludes1 note forbids the pair too (Z87.891 and F17.2-); else a second primary
                # or a new episode may explain it.
                definite = self._excluded(past, current) or self._excluded(current, past)
                positions = tuple(sorted((past.position, current.position)))
                found.append(Finding("contradictory", positions, ERROR if definite else WARNING, text, basis))
        return found

    # -- signs and symptoms, sepsis ---------------------------------------------------------------------------
    def _symptoms(self, entries: list[Entry]) -> list[Finding]:
        """A sign or symptom (chapter 18) beside a diagnosis that includes it: one whose title says it (N30.01,
        acute cystitis with hematuria, beside R31.9), or one of the body system its block names, where it is
        routinely part of the diagnosis and not coded (I.B.5); listed first, the diagnosis goes first (I.C.18.a)."""
        found = []
        for symptom in entries:
            if symptom.concept.chapter != "18":
                continue
            said = words(symptom.concept.display)
            chapters = self._chapters_of_symptoms(symptom.concept.blocks[0])
            related = [e for e in entries if e.concept.chapter != "18" and not self._instructed(symptom, e)]
            named = next((e for e in related if said <= words(e.concept.display)), None)
            diagnosis = named or next((e for e in related if e.concept.chapter in chapters), None)
            if diagnosis is None:
                continue
            pair = tuple(sorted((symptom.position, diagnosis.position)))
            if named is not None:
                # An Excludes2 note of the symptom naming the diagnosis allows both, for a symptom of its own.
                allowed = any(
                    covers(ref, diagnosis.code)
                    for note in self.notes(symptom.concept, "excludes2")
                    for ref in note.refs
                )
                text = (
                    f"{diagnosis.code} ({diagnosis.concept.display}) already says what {symptom.code} "
                    f"({symptom.concept.display}) codes: leave {symptom.code} out"
                    + (
                        ", unless the record shows it apart from the diagnosis (the symptom's Excludes2 note)."
                        if allowed
                        else "."
                    )
                )
                severity = WARNING if allowed else ERROR
                found.append(Finding("symptom-integral", pair, severity, text, "Official Guidelines I.B.5 and I.B.9"))
            elif symptom.position == 1:
                text = (
                    f"{symptom.code}, a sign or symptom, is listed first with {diagnosis.code}, a diagnosis of the same "
                    "body system: a symptom is not the first-listed diagnosis when a related diagnosis is established; "
                    f"if {diagnosis.code} explains it, {symptom.code} goes (or follows, when it is not a routine part of "
                    f"{diagnosis.code})."
                )
                found.append(Finding("symptom-integral", pair, WARNING, text, "Official Guidelines I.C.18.a and I.B.5"))
            else:
                text = (
                    f"{symptom.code}, a sign or symptom, is listed with {diagnosis.code}, a diagnosis of the same body "
                    f"system: leave it out if it is a routine part of {diagnosis.code}; keep it if it is not."
                )
                found.append(Finding("symptom-integral", pair, WARNING, text, "Official Guidelines I.B.5 and I.B.6"))
        return found

    def _asks(
        self, holder: Entry, other: Entry, levels: tuple[str, ...] = ("code", "ancestor", "block", "chapter")
    ) -> bool:
        """Whether a "use additional code" or "code also" note applying to ``holder`` (at ``levels``) names
        ``other``."""
        return any(
            covers(ref, other.code)
            for kind in _ADDING
            for note in self.notes(holder.concept, kind)
            if note.level in levels
            for ref in note.refs
        )

    def _instructed(self, symptom: Entry, diagnosis: Entry) -> bool:
        """Whether the classification asks for the two together ("unless otherwise instructed", I.B.5): a note of
        the diagnosis asks for the symptom (N40.1: "use additional code for associated symptoms"), or the
        symptom's "code first" note names the diagnosis (R39.14: "enlarged prostate (N40.1)")."""
        return self._asks(diagnosis, symptom) or any(
            covers(ref, diagnosis.code) for note in self.notes(symptom.concept, "codeFirst") for ref in note.refs
        )

    def _systems_of(self, block: str) -> frozenset[str]:
        """The chapters whose titles name a body system that a chapter 18 block names."""
        groupings = self.release.groupings
        named = systems(groupings[block_key(block)].title) if block_key(block) in groupings else frozenset()
        return frozenset(
            g.id
            for key, g in groupings.items()
            if key.startswith("chapter:") and g.id != "18" and systems(g.title) & named
        )

    def _sepsis(self, entries: list[Entry]) -> list[Finding]:
        """Sepsis sequencing (I.C.1.d): severe sepsis (R65.2-) is never first-listed, the systemic infection goes
        first; a localized infection listed before the sepsis it led to is wrong when both were present on
        admission (I.C.1.d.4), right when the sepsis developed later: a warning, as the list does not say."""
        if not entries or entries[0].position != 1:
            return []
        first = entries[0]
        sepsis = next((e for e in entries if e.concept.chapter == "1" and _SEPSIS.search(e.concept.display)), None)
        if first.concept.chapter == "18" and _SEPSIS.search(first.concept.display):
            text = (
                f"{first.code} ({first.concept.display}) is never the first-listed diagnosis: the systemic infection "
                + (f"({sepsis.code}) is listed first, then {first.code}." if sepsis else "is coded and listed first.")
            )
            positions = (1, sepsis.position) if sepsis else (1,)
            return [
                Finding("sepsis-not-first", positions, ERROR, text, "Official Guidelines I.C.1.d.1(b) and I.C.1.d.2")
            ]
        if sepsis is None or first is sepsis or not self._infection(first) or self._sequenced(sepsis, first):
            return []
        if sepsis.admitted == "n":
            return []  # the sepsis developed after admission: the localized infection is principal
        if sepsis.admitted == "y" and first.admitted == "y":
            text = (
                f"{first.code}, a localized infection, is listed before {sepsis.code}, sepsis, and the claim says both "
                f"were present on admission: {sepsis.code} is listed first and {first.code} follows."
            )
            return [Finding("sepsis-not-first", (1, sepsis.position), ERROR, text, "Official Guidelines I.C.1.d.4")]
        text = (
            f"{first.code}, a localized infection, is listed before {sepsis.code}, sepsis: when the sepsis was present "
            f"on admission, {sepsis.code} is listed first and {first.code} follows; if the sepsis developed after "
            "admission, the order stands."
        )
        return [Finding("sepsis-not-first", (1, sepsis.position), WARNING, text, "Official Guidelines I.C.1.d.4")]

    def _sequenced(self, later: Entry, first: Entry) -> bool:
        """Whether a "code first" note of ``later`` names ``first`` (A41's "sepsis due to central venous catheter
        (T80.211-)"): the classification asks for this order."""
        return any(covers(ref, first.code) for note in self.notes(later.concept, "codeFirst") for ref in note.refs)

    def _infection(self, entry: Entry) -> bool:
        """A localized infection: outside chapter 1, its title or its category's or block's says infection or
        pneumonia, or its notes ask for the infectious agent (B95-B97)."""
        if entry.concept.chapter in ("1", "18"):  # the systemic infections, and the signs of infection (R65)
            return False
        titles = [entry.concept.display, self._title(entry.code[:3])]
        titles += [
            self.release.groupings[block_key(b)].title
            for b in entry.concept.blocks
            if block_key(b) in self.release.groupings
        ]
        if any(_INFECTION.search(title) for title in titles):
            return True
        return any(
            covers(ref, "B96") or ref.startswith(("B95", "B96", "B97"))
            for note in self.notes(entry.concept, "useAdditionalCode")
            for ref in note.refs
        )

    # -- redundant codes -------------------------------------------------------------------------------------
    @staticmethod
    def _unspecified(entries: list[Entry]) -> list[Finding]:
        found = []
        for a, b in combinations(entries, 2):
            if a.code[:3] != b.code[:3] or a.code in b.concept.ancestors or b.code in a.concept.ancestors:
                continue
            # An unspecified sibling (M54.50 beside M54.59), or the category's .9 code beside any code of it
            # (R10.9 beside R10.31). "Unspecified" deeper in a title qualifies a detail (F10.239, withdrawal,
            # unspecified, is more specific than F10.20).
            siblings = a.concept.parent == b.concept.parent
            vague = [e for e in (a, b) if (siblings and _UNSPECIFIED.search(e.concept.display)) or _nine(e)]
            if len(vague) == 1:
                other = b if vague[0] is a else a
                found.append(
                    Finding(
                        "unspecified-with-specified",
                        (a.position, b.position),
                        WARNING,
                        f"{vague[0].code} (unspecified) is listed with {other.code}, a more specific code of the same "
                        f"category: if they describe one condition, report only {other.code}.",
                        "Official Guidelines I.B.18 (unspecified codes) and I.B.2",
                    )
                )
        return found

    def _bilateral(self, entries: list[Entry]) -> list[Finding]:
        """Right and left codes of one condition where a bilateral code exists; a bilateral code with one of its
        sides."""
        found = []
        listed = {e.code for e in entries}
        basis = "Official Guidelines I.B.13 (laterality: a bilateral code when the condition is bilateral)"
        for a, b in combinations(entries, 2):
            sides = {_side(a.concept.display), _side(b.concept.display)}
            if _side_pattern(a.concept.display) != _side_pattern(b.concept.display):
                continue
            if sides == {"right", "left"}:
                bilateral = self._bilateral_code(a.concept, _side_pattern(a.concept.display))
                if bilateral and bilateral not in listed:
                    text = (
                        f"{a.code} and {b.code} are the right and left codes of one condition, and ICD-10-CM has a "
                        f"bilateral code for it: report {bilateral} instead."
                    )
                    found.append(Finding("bilateral", (a.position, b.position), WARNING, text, basis))
            elif "bilateral" in sides and sides & {"right", "left"}:
                both, one = (a, b) if _side(a.concept.display) == "bilateral" else (b, a)
                text = f"{both.code} already says both sides: {one.code}, one side of the same condition, is redundant."
                found.append(Finding("bilateral", (a.position, b.position), WARNING, text, basis))
        return found

    def _bilateral_code(self, concept: ConceptRow, pattern: tuple[str, ...]) -> str | None:
        """The code beside this one whose title says bilateral where the pair says right and left."""
        # The bilateral code sits beside the sided ones, or one level up (H40.111- beside H40.112-, H40.113-).
        levels = concept.ancestors[:2]
        for level in levels:
            for code, display, billable in self._descendants(level):
                if billable and "bilateral" in display.lower() and _side_pattern(display) == pattern:
                    return code
        return None

    def _descendants(self, code: str) -> list[tuple[str, str, int]]:
        out = []
        for child in self.release.children_of(code):
            out.append(child)
            out += self.release.children_of(child[0])
        return out

    @staticmethod
    def _seventh(entries: list[Entry]) -> list[Finding]:
        found = []
        for a, b in combinations(entries, 2):
            if a.code[:3] != b.code[:3] or a.code[0] not in "ST":
                continue
            ea, eb = _encounter(a), _encounter(b)
            if ea and eb and ea != eb:
                found.append(
                    Finding(
                        "seventh-mismatch",
                        (a.position, b.position),
                        WARNING,
                        f"{a.code} ({ea}) and {b.code} ({eb}) give one injury different encounters: the 7th "
                        "character follows the care given in this encounter, for every code of the injury.",
                        "Official Guidelines I.C.19.a (7th characters)",
                    )
                )
        return found


_CHECK_OF_RULE = {
    "manifestation": "manifestation-first",
    "external-cause": "external-cause-first",
    "supplementary": "never-first",
    "adverse-effect": "never-first",
    "underdosing": "never-first",
    "z-secondary": "never-first",
    "additional-only": "never-first",
    "z-first-listed": "first-only-not-first",
    "single-diagnosis": "first-only-not-first",
}
# The findings on a pair that a finding of another check on the same pair makes redundant: a code that looks
# unspecified beside one it contradicts. (An Excludes1 pair that is also a combination or a contradiction gets
# both findings: one says the two may not stand together, the other which code to report.)
_YIELDS = {"unspecified-with-specified": ("contradictory",)}
_WITH = re.compile(r"(?<!\w)with\b", re.IGNORECASE)
_CODES_IN_TEXT = re.compile(r"\s*\([A-Z][0-9][0-9A-Z.,\- ]*\)")  # "(Z79.85)", "(N18.1-N18.6)", "(I12.-, I13.-)"
# The stems of a "code first ... such as" heading that name no condition of their own.
_GENERAL_STEMS = frozenset(
    stem(w) for w in "underlying condition disease disorder cause any associated causal code first".split()
)
# Words any two titles may share without the one expecting the other's codes.
_EXPECTED_FILLER = frozenset("disease disorder condition encounter certain".split())
_JOINED = re.compile(r"(?<!\w)with\b|\bfollowing\b|\bdue to\b", re.IGNORECASE)
_SEPSIS = re.compile(r"\bsepsis\b|\bsepticemi", re.IGNORECASE)
_INFECTION = re.compile(r"\binfection|\bpneumonia|\bbacterial\b|\bviral\b|\babscess|\bcellulitis", re.IGNORECASE)
_UNSPECIFIED = re.compile(r"\bunspecified\b|\bNOS\b", re.IGNORECASE)
_NEAR = ("code", "ancestor")
# The notes of a code that may name a combination code in another category: the etiology to code first
# (N18's "diabetic chronic kidney disease (E11.22)"), or an Excludes line that sends this condition "with"
# another elsewhere (J20's "acute bronchitis with chronic obstructive pulmonary disease (J44.0)", N20's "that
# with hydronephrosis (N13.2)"). Not "use additional code" or "code also": they name what goes beside it.
_JOINING = ("codeFirst", "excludes1", "excludes2")
_ADDING = ("useAdditionalCode", "codeAlso")
_NOTE_WORDS = {
    "codeFirst": "'code first'",
    "useAdditionalCode": "'use additional code'",
    "codeAlso": "'code also'",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
}


def _alternatives(refs: tuple[str, ...], most: int = 6) -> str:
    """'Z79.85, Z79.4 or Z79.84': the codes a note names, once each (a long list cut short)."""
    named = [f"{ref[:3]}.-" if len(ref) == 4 and ref.endswith("-") else ref for ref in dict.fromkeys(refs)]
    shown = named[:most] + (["another code the note names"] if len(named) > most else [])
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _purpose(note: Note) -> str:
    """What a note asks the additional code for, in its words without the codes: 'code to identify control
    using: injectable non-insulin antidiabetic drugs; insulin; ...'."""
    lines = [_CODES_IN_TEXT.sub("", line).strip().rstrip(":").strip() for line in note.lines]
    return lines[0] + (": " + "; ".join(lines[1:]) if lines[1:] else "")


def _also_for(finding: Finding, entry: Entry) -> Finding:
    positions = (*finding.positions, entry.position)
    codes, _, rest = finding.text.partition(": add ")
    return Finding(finding.check, positions, finding.severity, f"{codes} and {entry.code}: add {rest}", finding.basis)


def _this_with(line: str, title: str) -> bool:
    """Whether an Excludes line sends the holder's own condition "with" another elsewhere: 'that with
    hydronephrosis (N13.2)' at N20, 'acute bronchitis with chronic obstructive pulmonary disease (J44.0)' at
    J20.9 (its words before "with" are the holder's), not M54.5's 'intervertebral disc degeneration ... with
    discogenic back pain only (M51.360)'."""
    before, found, _ = line.lower().partition(" with ")
    if not found:
        return False
    own = words(before) - {"that"}
    return not own or own <= words(title)


def _met(note: Note, holder: Entry, entries: list[Entry]) -> bool:
    """Whether another code of the list is one the note names (its references are alternatives)."""
    return any(covers(ref, e.code) for e in entries if e is not holder for ref in note.refs)


def _line_naming(note: Note, code: str) -> str:
    return next((line for line in note.lines if code in line), note.lines[0])


def _narrow(ref: str) -> bool:
    """A note reference within one category (L97.4-, N18.1-N18.6), not a span of categories (E00-E88)."""
    first, _, last = ref.removesuffix("-").partition("-")
    return not last or first[:3] == last[:3]  # the levels whose notes speak of this code in particular


def _nine(entry: Entry) -> bool:
    """A code of its category's .9 subdivision, the unspecified one (E11.9, R10.9, J45.909 under J45.90)."""
    return len(entry.code) >= 5 and entry.code[4] == "9"


_SIDE = re.compile(r"\b(right|left|bilateral)\b", re.IGNORECASE)
# Words that say the side rather than the condition ("right eye", "unilateral", "of").
_SIDE_WORDS = frozenset({"right", "left", "bilateral", "unilateral", "of", "eye", "eyes", "ear", "ears", "side"})
_INITIAL, _LATER, _SEQUELA = "initial encounter", "subsequent encounter", "sequela"


@lru_cache(maxsize=65536)  # pure, and asked of each pair of a list
def _side_pattern(title: str) -> tuple[str, ...]:
    """A title's words with its side taken out, singular and in order of appearance: 'Unilateral primary
    osteoarthritis, right knee' and 'Bilateral primary osteoarthritis of knee' both read (primary,
    osteoarthriti, knee)."""
    words = re.findall(r"[a-z0-9-]+", title.lower())
    return tuple(sorted(w.rstrip("s") for w in words if w not in _SIDE_WORDS))


@lru_cache(maxsize=65536)
def _side(title: str) -> str | None:
    found = _SIDE.search(title)
    return found.group(1).lower() if found else None


def _encounter(entry: Entry) -> str | None:
    """Initial, subsequent or sequela, from the 7th character's meaning in the title."""
    if not entry.concept.seventh or not entry.concept.billable:
        return None
    title = entry.concept.display.lower()
    if title.endswith("sequela"):
        return _SEQUELA
    if "subsequent encounter" in title:
        return _LATER
    if "initial encounter" in title:
        return _INITIAL
    return None


# -- what a client sends ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Listed:
    coding: Coding
    path: str  # where it is in the request, for the issues' expression
    admitted: str | None = None  # a Claim's diagnosis.onAdmission code (y, n, u, w)


def _coding_of(concept, path: str) -> Coding:
    """The ICD-10-CM coding of a CodeableConcept (else its first coding)."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list) or not codings or not all(isinstance(c, dict) for c in codings):
        raise InvalidRequest(f"{path} has no coding", expression=path)
    chosen = next((c for c in codings if canonical_system(c.get("system")) == ICD10CM), codings[0])
    values = {k: chosen.get(k) for k in ("system", "code", "version", "display")}
    if any(v is not None and not isinstance(v, str) for v in values.values()):
        raise InvalidRequest(f"{path}: system, code, version and display must be strings", expression=path)
    return Coding(**values)


def from_claim(claim: dict) -> tuple[list[Listed], str | None]:
    """A Claim's diagnoses in the order of their sequence, and the day the claim is about."""
    diagnoses = claim.get("diagnosis")
    if not isinstance(diagnoses, list) or not diagnoses:
        raise InvalidRequest("The Claim has no diagnosis", expression="Claim.diagnosis")
    listed, sequences = [], set()
    for index, diagnosis in enumerate(diagnoses):
        path = f"Claim.diagnosis[{index}]"
        sequence = diagnosis.get("sequence") if isinstance(diagnosis, dict) else None
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise InvalidRequest(f"{path}.sequence must be a positive integer", expression=f"{path}.sequence")
        if sequence in sequences:
            raise InvalidRequest(f"{path}: sequence {sequence} is given twice", expression=f"{path}.sequence")
        sequences.add(sequence)
        concept = diagnosis.get("diagnosisCodeableConcept")
        coding = _coding_of(concept, f"{path}.diagnosisCodeableConcept")
        listed.append((sequence, Listed(coding, path, _on_admission(diagnosis.get("onAdmission")))))
    period = claim.get("billablePeriod")
    day = period.get("start") if isinstance(period, dict) and isinstance(period.get("start"), str) else None
    return [entry for _, entry in sorted(listed, key=lambda pair: pair[0])], day


def _on_admission(concept) -> str | None:
    """The present-on-admission indicator of a Claim diagnosis (ex-diagnosis-on-admission: y, n, u, w)."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings if isinstance(codings, list) else ():
        code = coding.get("code") if isinstance(coding, dict) else None
        if isinstance(code, str) and code.lower() in ("y", "n", "u", "w"):
            return code.lower()
    return None


def from_bundle(bundle: dict) -> list[Listed]:
    """The Conditions of a Bundle, in the order of the Encounter's diagnosis ranks when it has them."""
    resources = [e.get("resource") for e in bundle.get("entry") or () if isinstance(e, dict)]
    conditions = {}
    for index, resource in enumerate(resources):
        if isinstance(resource, dict) and resource.get("resourceType") == "Condition":
            path = f"Bundle.entry[{index}].resource"
            conditions[f"Condition/{resource.get('id')}"] = (resource, path)
            entry = (bundle.get("entry") or [])[index]
            if isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str):
                conditions[entry["fullUrl"]] = (resource, path)
    if not conditions:
        raise InvalidRequest("The Bundle has no Condition", expression="Bundle.entry")
    encounter = next(
        (r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Encounter" and r.get("diagnosis")),
        None,
    )
    chosen: list[tuple[dict, str]] = []
    if encounter is not None:
        ranked = sorted(
            (d for d in encounter["diagnosis"] if isinstance(d, dict)),
            key=lambda d: int(d["rank"]) if isinstance(d.get("rank"), int) else 1_000_000,
        )
        for diagnosis in ranked:
            reference = (diagnosis.get("condition") or {}).get("reference")
            if reference not in conditions:
                raise InvalidRequest(f"Encounter.diagnosis names {reference!r}, which the Bundle lacks")
            chosen.append(conditions[reference])
    else:
        chosen = list({path: (r, path) for r, path in conditions.values()}.values())
    return [Listed(_coding_of(resource.get("code"), f"{path}.code"), f"{path}.code") for resource, path in chosen]


# -- the operation ----------------------------------------------------------------------------------------
@dataclass(slots=True)
class Checked:
    version: str
    findings: list[Finding]
    paths: list[str]  # of each code, by position - 1

    @property
    def result(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)


def validate_diagnoses(icd10cm, listed: list[Listed], date: str | None = None, version: str | None = None) -> Checked:
    """Each code alone (as $validate-code checks it, headers refused), then the list as a whole."""
    if not listed:
        raise InvalidRequest("$validate-diagnoses needs the diagnoses: coding (in order), a claim or a bundle")
    if len(listed) > MAX_CODES:
        raise InvalidRequest(f"Too many diagnoses ({len(listed)}; at most {MAX_CODES})", expression="coding")
    releases = icd10cm.releases
    release = releases.resolve(version, date)
    findings: list[Finding] = []
    stale = releases.stale(release, version, date)
    if stale:
        findings.append(Finding("release", (), WARNING, str(stale), "docs/versions.md"))
    entries = []
    for position, item in enumerate(listed, start=1):
        system = canonical_system(item.coding.system)
        if system not in (None, ICD10CM):
            text = (
                f"{item.coding.code} is a code of {system}, not of ICD-10-CM: a claim's diagnoses are ICD-10-CM codes."
            )
            findings.append(Finding("invalid-code", (position,), ERROR, text, "HIPAA code sets (45 CFR 162.1002)"))
            continue
        alone = icd10cm.validate_code(
            Coding(ICD10CM, item.coding.code, release.version), abstract=False, date=date, guidance="none"
        )
        if not alone.result:
            errors = "; ".join(i.text for i in alone.issues if i.severity == ERROR)
            findings.append(Finding("invalid-code", (position,), ERROR, errors, "Official Guidelines I.A.2 and I.B.2"))
        code = alone.normalized_code or alone.code or ""
        concept = release.concept(code)
        if concept is not None:
            entries.append(Entry(position, code, concept, alone.result, item.admitted))
    findings += icd10cm.diagnosis_checker(release).check(entries)
    return Checked(release.version, findings, [item.path for item in listed])
