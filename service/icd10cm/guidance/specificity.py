"""What the record must state to reach a more specific code: the axes along which the codes near an
unspecified code (or below a header) differ from it, each with the codes it leads to (Official
Guidelines I.A.9, I.B.2, I.B.18). The axes are read from the titles, never listed per code."""

from __future__ import annotations

import re
from functools import lru_cache

# A side of the body; "left ventricular failure" or "right bundle branch block" name a part of the heart.
SIDE = re.compile(
    r"\b(right|left|bilateral)\b(?!\s*-?\s*(ventric|atri|bundle|heart|coronary|sided|anterior fasc|posterior fasc))",
    re.I,
)
# Axis -> the title words that mark it, tried in this order on the words a candidate adds.
_AXES = (
    ("side", SIDE),
    ("stage", re.compile(r"\b(stage|unstageable|grade)\b", re.I)),
    ("severity", re.compile(r"\b(mild|moderate|severe|intermittent|persistent)\b", re.I)),
    ("type", re.compile(r"\b(type \d|type [IVX]+|systolic|diastolic|primary|secondary)\b", re.I)),
    ("complication", re.compile(r"^(with|without)\b|\b(complicated|uncomplicated)\b", re.I)),
    ("acuity", re.compile(r"\b(acute|chronic|subacute|recurrent)\b", re.I)),
)
# "Pressure ulcer of unspecified site, unspecified stage": what the title leaves open, by name.
_LEFT_OPEN = re.compile(
    r"\bunspecified (site|part|region|location|stage|organism|type|severity|joint|level|degree|trimester|cause|"
    r"agent|substance|vessel|artery|vein|nerve|muscle|tendon|bone|condition)\b",
    re.I,
)
_WORD = re.compile(r"[a-z0-9]+")
# Pain, by name or by kind: under "Dorsalgia, unspecified" the more specific codes are the pains the category
# holds (cervicalgia, sciatica, low back pain), not the other conditions it also holds (panniculitis, M54.0).
# Over every unspecified pain code of the 2026 release this sets aside 13 siblings, each another condition
# (M54.0; M79.0-M79.8 beside neuralgia M79.2; I70.3x presentations beside rest pain I70.32); the kinds of pain
# named without the word (hemicrania, dysuria, tenesmus, vestibulitis, acute abdomen) stay candidates.
_PAIN = re.compile(
    r"pain|algia|ache\b|dynia|sciatica|lumbago|radicul|hemicrania|dysuria|tenesmus|vestibulitis|acute abdomen",
    re.I,
)
_AXIS_WORDS = {
    "side": "the side",
    "severity": "the severity",
    "acuity": "acute or chronic",
    "stage": "the stage",
    "type": "the type",
    "complication": "what complicates or accompanies it, or that nothing does",
    "kind or site": "the kind or the site",
}


@lru_cache(maxsize=65536)
def _words(title: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(title.lower()))


# "..., unspecified whether with hypoxia or hypercapnia": the clause names what the codes beside it state.
_UNSPECIFIED_WHETHER = re.compile(r"\bunspecified whether\b.*", re.I)


def _added(reference: str, candidate: str) -> list[str]:
    known = set(_words(_UNSPECIFIED_WHETHER.sub("", reference)))
    return [w for w in _words(candidate) if w not in known and not any(_compound_of(k, w) for k in known)]


def _compound_of(word: str, part: str) -> bool:
    """Whether ``word`` ends with ``part`` after a prefix that does not negate it: "bronchopneumonia" holds
    "pneumonia" (nothing new), "female" holds "male" (another sex, not a more specific one); "nondisplaced"
    does not hold "displaced", nor "unspecified" "specified"."""
    return len(part) > 3 and word != part and word.endswith(part) and word[: -len(part)] not in _NEGATIONS


_NEGATIONS = frozenset({"non", "un", "in", "a", "an", "dis", "ir", "il", "im", "anti"})


def leaves_open(title: str) -> bool:
    """Whether a title leaves something open by name ("Pneumonia, unspecified organism")."""
    return bool(_LEFT_OPEN.search(title))


@lru_cache(maxsize=65536)
def _left_open(title: str) -> frozenset[str]:
    """What a title leaves unspecified, with the words around it: "heart failure, unspecified",
    "unspecified asthma", "unspecified site"."""
    lowered = title.lower()
    # "unspecified with hypoxia" leaves nothing open by "with": only a content word after it counts.
    return frozenset(re.findall(r"\bunspecified (?!(?:with|without|and|or|of|in|on|as)\b)\w+", lowered)) | frozenset(
        re.findall(r"(\w+ \w+), unspecified\b", lowered)
    )


# Both are pure functions of titles, asked again for every code of a family: cached.
@lru_cache(maxsize=65536)
def more_specific(reference: str, candidate: str, same_level: bool = True) -> bool:
    """Whether a title says more than ``reference`` without leaving something else unspecified (under
    "Unspecified asthma", "Unspecified asthma with (acute) exacerbation" is more specific). A code beside it
    that leaves open what the reference does not is not more specific: "Heart failure, unspecified" beside
    "Left ventricular failure, unspecified"."""
    added = _added(reference, candidate)
    if not added or {"unspecified", "nos"} & set(added):
        return False
    if _PAIN.search(reference) and not _PAIN.search(candidate):
        return False
    return not same_level or _left_open(candidate) <= _left_open(reference)


@lru_cache(maxsize=65536)
def axis(reference: str, candidate: str) -> str:
    """The axis along which ``candidate`` (a title) says more than ``reference``."""
    added = " ".join(_added(reference, candidate))
    for name, marker in _AXES:
        if marker.search(added):
            return name
    lowered = candidate.lower()
    left_open = [w.lower() for w in _LEFT_OPEN.findall(reference)]
    for word in left_open:  # "unspecified stage" -> "stage 1" states the stage
        if re.search(rf"(?<!unspecified )\b{word}\b", lowered):
            return word
    stated = [w for w in left_open if f"unspecified {w}" not in lowered]
    for word in stated:  # "unspecified site" -> "elbow" states the site; "unspecified organism" -> J13
        if word in ("site", "part", "region", "location", "joint", "organism", "agent", "cause"):
            return word
    return "kind or site"


def axes(reference: str, candidates: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Axis -> codes, for (code, title) candidates compared with the ``reference`` title, in order."""
    found: dict[str, list[str]] = {}
    for code, title in candidates:
        found.setdefault(axis(reference, title), []).append(code)
    return found


def statement(found: dict[str, list[str]]) -> str:
    """ "the severity (J45.2-, J45.3-); the kind or the site (J45.99-)"."""
    return "; ".join(f"{_AXIS_WORDS.get(name, f'the {name}')} ({', '.join(codes)})" for name, codes in found.items())
