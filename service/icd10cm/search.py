"""The text filter of $expand: what people type, turned into a query of the words ICD-10-CM uses.

- A code, or the start of one (``M54.5``, ``m545``, ``S52.5``), is a code prefix.
- Words are letters and digits, lowercased, accents folded (as the index's tokenizer does).
- The longest run of words that is a term of the clinical lexicon (``lexicon/``) is searched as the term's
  meanings ("afib": atrial fibrillation), and as itself when its words are words of the titles ("leg": leg,
  lower leg, lower limb).
- A word that is neither a word of the titles, nor the start of one, nor a lexicon term, is corrected to the
  nearest word of the titles (edit distance with transpositions: 1, or 2 for words of 6 letters or more; the
  word more codes use on a tie): "pnuemonia" is pneumonia.
- Words of 4 letters or more match as prefixes (search as you type); shorter ones as whole words, so "ear"
  does not find "early", unless no title has the whole word ("fra"). Small words ("of", "the") are not required.
- When no code has every word, the words that matter least are let go one by one (the common ones first,
  the head of the phrase last), so a query that names a condition never comes back empty.

Ranking (``ranking``, computed in SQL by reader.select): a code whose title or synonym (its own, or one of the
codes above it) is what the query means, leaving aside "unspecified", "NOS" and words in parentheses, first;
then titles that start with it; billable codes before headers, and among them the code a coder takes when the
record says no more (unspecified, without complication, accidental; type 2 diabetes), not one that adds a
complication the query does not ask for; the initial encounter before the others; then titles that have the
query's words themselves; then the shorter code and title.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from itertools import combinations
from typing import NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .codes import normalize_code

_CODE_PREFIX = re.compile(r"[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{0,4})?")
_WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 10
PREFIX_FROM = 4  # letters from which a word matches as a prefix
# Words a query may hold that no title needs to have ("s" is what is left of a possessive: "sjogren's").
STOP_WORDS = frozenset("an the of to for on at by is are was my his her their and or as from x pt patient s".split())
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]|\b(site |type )?not (otherwise )?specified\b", re.IGNORECASE)
# Words that speak of the encounter or of the 7th character: then every 7th character is shown.
ENCOUNTER_WORDS = frozenset(
    "subsequent sequela sequelae nonunion malunion delayed routine healing open aftercare late follow followup".split()
)
# Words that qualify a condition rather than name it, and words too general to name one: when not every word
# can match, these are let go first.
_QUALIFIERS = frozenset(
    "acute chronic subacute exacerbation left right bilateral both side sided sides severe mild moderate recurrent "
    "episode initial active new old current ongoing history".split()
)
_GENERAL = frozenset("disease disorder syndrome condition problem problems issue issues level levels".split())
# Titles of the code a coder takes when the record says no more: unspecified, without complication, NOS, and
# the accidental intent (Official Guidelines I.C.19.e.5(b), I.C.20.i).
_DEFAULT = re.compile(r"\b(unspecified|without|nos|uncomplicated|accidental)\b", re.IGNORECASE)
_WITH = re.compile(r"\bwith\b", re.IGNORECASE)
# Diabetes of no stated type is type 2, E11 (Official Guidelines I.C.4.a.2): the other categories only when
# the query names a type or a cause.
_NOT_DEFAULT_TYPE = frozenset({"E08", "E09", "E10", "E13"})
_DIABETES_TYPES = frozenset({"type", "1", "i", "drug", "chemical", "induced", "due", "underlying", "secondary"})
# Words that follow the head of a phrase: "cellulitis of left leg" is about cellulitis.
_AFTER_HEAD = frozenset("of with without in due from on at after during while following".split())
_WHOLE_WORDS = frozenset({"with", "without"})  # "with" is not the start of "without"
# Words that leave a code's own wording out of the comparison of a title with the query: "lumbar region" is
# lumbar, "pain in leg" is leg pain.
_NEUTRAL = frozenset({"unspecified", "nos", "region", "site"}) | STOP_WORDS | (_AFTER_HEAD - _WHOLE_WORDS)


def code_prefix(text: str) -> str | None:
    """The normalized code prefix, when the filter is a code or the start of one."""
    text = text.strip()
    return normalize_code(text).rstrip(".") if _CODE_PREFIX.fullmatch(text) else None


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    return _WORD.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))


@lru_cache(maxsize=131072)
def meaning(text: str) -> tuple[str, ...]:
    """The words that make a title what it is, in order: no "unspecified", "NOS", small words, parentheses."""
    return tuple(w for w in words(_PARENTHESES.sub(" ", text)) if w not in _NEUTRAL)


def meaning_bag(text: str) -> tuple[str, ...]:
    return tuple(sorted(meaning(text)))


@dataclass(frozen=True)
class Group:
    """One thing the query says: any of its alternatives (each a tuple of words, all required)."""

    typed: str
    alternatives: tuple[tuple[str, ...], ...]
    weight: float  # how rare it is: the rarer, the more it matters when not every word can match
    meant: tuple[str, ...]  # the words it is ranked by
    whole: frozenset[str] = frozenset()  # words matched whole, never as a prefix
    prefix: frozenset[str] = frozenset()  # short words matched as prefixes: no title has them whole ("fra")


@dataclass(frozen=True)
class Query:
    groups: tuple[Group, ...]
    typed: str
    head: int  # the group of the head of the phrase
    dropped: tuple[str, ...] = ()  # the words typed that were let go: no code has them all
    short_prefixes: bool = False  # words under 4 letters match as prefixes: nothing has them as whole words
    collapse: bool = False  # 7th-character codes other than the initial encounter are left out

    @cached_property
    def match(self) -> str | None:
        return fts(self.groups, self.short_prefixes)

    @property
    def relaxed(self) -> bool:
        return bool(self.dropped)

    @property
    def searched(self) -> str:
        """What was searched, in words: "atrial fibrillation", "cellulitis left lower (leg | lower limb)"."""
        shown = []
        for group in self.groups:
            options = [" ".join(a) for a in group.alternatives]
            shown.append(options[0] if len(options) == 1 else "(" + " | ".join(options) + ")")
        return " ".join(shown)

    @property
    def changes(self) -> tuple[tuple[str, str | None], ...]:
        """(what was typed, what was searched for it) for each word or term the search changed, and (typed,
        None) for each it let go: ("pnuemonia", "pneumonia"), ("afib", "atrial fibrillation")."""
        changed = tuple(
            (g.typed, " or ".join(" ".join(a) for a in g.alternatives))
            for g in self.groups
            if g.alternatives != ((g.typed,),)
        )
        return changed + tuple((typed, None) for typed in self.dropped)

    @property
    def rewritten(self) -> bool:
        return any(g.alternatives != ((g.typed,),) for g in self.groups)

    def bags(self, most: int = 16) -> frozenset[tuple[str, ...]]:
        """The words the query may mean, sorted, for each choice of the groups' alternatives (the first
        ``most``): "memory loss" means memory deficit, or memory loss."""
        choices: list[tuple[str, ...]] = [()]
        for group in self.groups:
            options = [group.meant] + [a for a in group.alternatives if a != group.meant]
            choices = [c + a for c in choices for a in options][:most]
        return frozenset(tuple(sorted({w for w in c if w not in _NEUTRAL})) for c in choices)

    @property
    def encounter(self) -> bool:
        return any(w in ENCOUNTER_WORDS for g in self.groups for a in g.alternatives for w in a)

    @property
    def phrase(self) -> tuple[str, ...]:
        """The words the query means, in order, once each (leaving aside "unspecified", "NOS" and small
        words)."""
        return tuple(dict.fromkeys(w for g in self.groups for w in g.meant if w not in _NEUTRAL))


def fts(groups: Iterable[Group], short_prefixes: bool = False) -> str | None:
    """An FTS5 query: every group, each as any of its alternatives; ``short_prefixes``: words under 4
    letters match as prefixes too (when nothing has them whole)."""

    def term(word: str, group: Group) -> str:
        short = len(word) < PREFIX_FROM and not short_prefixes and word not in group.prefix
        exact = short or word.isdigit() or word in _WHOLE_WORDS or word in group.whole
        return f'"{word}"' if exact else f'"{word}"*'

    parts = []
    for group in groups:
        options = ["(" + " AND ".join(term(w, group) for w in a) + ")" for a in group.alternatives if a]
        if options:
            parts.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
    if not parts:
        return None
    return " AND ".join(parts)


_HEAD = 3.0  # what keeping the head of the phrase is worth, in the units of a word's rarity
_GUESS = 0.3  # what a corrected word's rarity counts for, when words must be let go


class Vocabulary:
    """The words of a release's titles and inclusion terms (with how many codes use each), and its lexicon."""

    def __init__(self, docs: dict[str, int], lexicon: Iterable[tuple[str, str, str]]):
        self.docs = docs
        self.total = max(sum(docs.values()), 1)
        self._sorted = sorted(docs)
        self._correctable = [w for w in self._sorted if len(w) >= 3 and w.isalpha()]
        self.lexicon: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = {}
        for term, expansion, kind in lexicon:
            meaning = tuple(w for w in words(expansion) if w not in STOP_WORDS)
            if meaning:
                self.lexicon.setdefault(tuple(words(term)), []).append((meaning, kind))
        self._longest = max((len(k) for k in self.lexicon), default=1)
        # A misspelled word may be meant for a lexicon term ("scraped": scrape, an abrasion).
        self._correctable += sorted({k[0] for k in self.lexicon if len(k) == 1 and len(k[0]) >= 3} - set(docs))

    def known(self, word: str) -> bool:
        """A word of the titles, or (from 4 letters) the start of one."""
        if word in self.docs or word.isdigit():
            return True
        if len(word) < PREFIX_FROM:
            return False
        at = bisect.bisect_left(self._sorted, word)
        return at < len(self._sorted) and self._sorted[at].startswith(word)

    def correct(self, word: str) -> str | None:
        """The nearest word of the titles, if one is near enough."""
        if len(word) < 4 or not word.isalpha():
            return None
        limit = 1 if len(word) < 6 else 2
        near = process.extract(word, self._correctable, scorer=OSA.distance, score_cutoff=limit, limit=12)
        if not near:
            return None
        return min(near, key=lambda found: (found[1], -self.docs.get(found[0], 0), found[0]))[0]

    def weight(self, alternatives: tuple[tuple[str, ...], ...]) -> float:
        """How much a group matters: its rarest word's rarity, less for a qualifier, none for a general word."""
        if all(len(a) == 1 and a[0] in _GENERAL for a in alternatives):
            return 0.0
        rarest = [max(math.log(self.total / (1 + self.docs.get(w, 0))) for w in a) for a in alternatives if a]
        found = max(rarest, default=0.0)
        return found / 3 if all(len(a) == 1 and a[0] in _QUALIFIERS for a in alternatives) else found

    def relaxations(self, query: Query, most: int = 64) -> Iterator[Query]:
        """The query with fewer of the words typed, each read again as a query (so "dog bite on right forearm"
        can keep "bite right forearm"), in the order to try them: more words kept first, then what the kept
        words are worth: a group of the query kept whole is worth its rarity, a group kept in part half its
        words' (general words, qualifiers and corrected words count least), and the head of the phrase more."""
        groups = [
            (g, [w for w in words(g.typed) if w not in STOP_WORDS and w not in _AFTER_HEAD]) for g in query.groups
        ]
        typed = [w for _, group_words in groups for w in group_words][:MAX_WORDS]
        alone = {w: sum(g.weight for g in self.parse(w).groups) for w in set(typed)}
        found = []
        for size in range(len(typed) - 1, 0, -1):
            for kept in combinations(range(len(typed)), size):
                left = {typed[i] for i in kept}
                value = 0.0
                for number, (group, group_words) in enumerate(groups):
                    if group_words and set(group_words) <= left:
                        value += group.weight + (_HEAD if number == query.head else 0)
                    else:
                        value += sum(alone[w] for w in group_words if w in left) / 2
                found.append((size, value, kept))
        found.sort(key=lambda item: (-item[0], -item[1]))
        for _, _, kept in found[:most]:
            dropped = tuple(w for i, w in enumerate(typed) if i not in kept)
            reread = self.parse(" ".join(typed[i] for i in kept))
            yield replace(reread, dropped=dropped, short_prefixes=True, collapse=query.collapse)

    def parse(self, text: str) -> Query:
        typed = words(text)[: MAX_WORDS * 2]
        groups: list[Group] = []
        head = None
        at = 0
        while at < len(typed) and len(groups) < MAX_WORDS:
            span = next(
                (
                    n
                    for n in range(min(self._longest, len(typed) - at), 0, -1)
                    if tuple(typed[at : at + n]) in self.lexicon
                ),
                0,
            )
            if span:
                term = tuple(typed[at : at + span])
                meanings = self.lexicon[term]
                own = tuple(w for w in term if w not in STOP_WORDS)
                alternatives = list(dict.fromkeys(m for m, _ in meanings))
                # The term keeps its own meaning when its words are whole words of the titles ("leg", not
                # "afib", which only starts "afibrinogenemia").
                keeps_own = bool(own) and all(w in self.docs for w in own)
                # A variant or an eponym that titles use as typed is searched as typed first ("leg", "sjogren").
                own_first = keeps_own and meanings[0][1] in ("variant", "eponym")
                if keeps_own and own not in alternatives:
                    alternatives.insert(0, own) if own_first else alternatives.append(own)
                meant = own if own_first else meanings[0][0]
                weight = self.weight(tuple(alternatives))
                whole = frozenset(own) if keeps_own else frozenset()
                groups.append(Group(" ".join(term), tuple(alternatives), weight, meant, whole))
                at += span
                continue
            word = typed[at]
            at += 1
            if word in _AFTER_HEAD and head is None and groups:
                head = len(groups) - 1
            if word in _WHOLE_WORDS:  # "with", "without": required, the first let go
                groups.append(Group(word, ((word,),), 0.0, (word,)))
                continue
            if word in STOP_WORDS or word in _AFTER_HEAD:  # "in", "due", "at": titles need not have them
                continue
            used = word if self.known(word) else (self.correct(word) or word)
            # A corrected word is a guess: when not every word can match, it is let go before the others.
            trust = 1.0 if used == word else _GUESS
            if (used,) in self.lexicon:  # corrected to a lexicon term
                meanings = self.lexicon[(used,)]
                options = tuple(dict.fromkeys(m for m, _ in meanings))
                groups.append(Group(word, options, trust * self.weight(options), meanings[0][0]))
                continue
            prefix = frozenset({used}) if len(used) < PREFIX_FROM and used not in self.docs else frozenset()
            groups.append(Group(word, ((used,),), trust * self.weight(((used,),)), (used,), prefix=prefix))
        if head is None:
            naming = [i for i, g in enumerate(groups) if g.typed not in _QUALIFIERS and g.typed not in _GENERAL]
            head = naming[-1] if naming else len(groups) - 1
        return Query(tuple(groups), " ".join(typed), head)


def static_rank(code: str, display: str, billable: bool, seventh: str | None) -> tuple[float, int, int]:
    """What ranks a code whatever the query (lower first), and whether it adds a complication ("with") or is
    a diabetes category other than E11: stored with the code in the index (loaders/build.py)."""
    score = len(code) / 2  # the shorter code is the more general one: the default sits higher in the tree
    if not billable:
        return score, 0, 0
    # The more a title says "unspecified", "without" ..., the nearer it is to the default code.
    score -= 60 + 15 * min(len(_DEFAULT.findall(display)), 3)
    if seventh is not None and len(seventh) == 1 and seventh != "A":  # the initial encounter first
        score += 1
    return score, int(bool(_WITH.search(display))), int(code[:3] in _NOT_DEFAULT_TYPE)


class Rank(NamedTuple):
    """The query's part of the ranking (reader.select turns it into SQL over the index's columns)."""

    names: tuple[str, ...]  # what the query may mean, as the `names` column writes a title or a term
    phrase: str  # the query's words in order, as the `lead` column writes a title
    words: tuple[str, ...]  # the words a title may have itself (the others are in its synonyms)
    with_cost: float  # added for a code that adds a complication ("with") the query does not ask for
    type_cost: float  # added for a diabetes category other than E11 when the query names no type


def ranking(query: Query) -> Rank:
    """A code whose title or term is what the query means, first (-100); else one whose title starts with it
    (-50); then the static rank; a complication not asked for (+15), another diabetes type (+10); then how
    many of the words the title itself has (up to -10: a title over a synonym, an own term over one
    inherited from the codes above)."""
    asked = {w for g in query.groups for a in g.alternatives for w in a}
    return Rank(
        tuple("|" + " ".join(bag) + "|" for bag in query.bags()),
        " ".join(query.phrase),
        tuple(w for w in query.phrase if w not in _WHOLE_WORDS)[:MAX_WORDS],
        0.0 if "with" in asked else 15.0,
        0.0 if asked & _DIABETES_TYPES else 10.0,
    )
