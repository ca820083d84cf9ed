"""ValueSet compose filters over a FHIR CodeSystem.

Hierarchy filters (is-a, descendent-of, is-not-a, child-of, generalizes) read the ``concept``
property (or ``code``); any other property filters on the concept's property values, with
``display`` / ``definition`` standing for those elements. Regular expressions run on RE2,
which has no catastrophic backtracking, and are anchored like FHIR's (whole value).
"""

from __future__ import annotations

import re2

from .. import budget
from ..errors import Unprocessable
from ..regex import compile_pattern
from .codesystem import CodeSystem, Concept

_HIERARCHY_PROPERTIES = {"concept", "code"}


FILTER_OP_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.include.filter.op"


def filter_op(flt: dict) -> str | None:
    """The filter's op; R5 operators (child-of ...) come in R4 as an extension on ``_op``."""
    if "op" in flt:
        return flt["op"]
    for ext in (flt.get("_op") or {}).get("extension", []):
        if ext.get("url") == FILTER_OP_EXTENSION:
            return ext.get("valueCode")
    return None


def concepts_for_filter(context, cs: CodeSystem, flt: dict) -> list[Concept]:
    prop, op, value = flt.get("property"), filter_op(flt), flt.get("value")
    if not isinstance(prop, str) or not isinstance(op, str):
        raise Unprocessable("A filter needs a property and an op", issue_code="invalid", tx_code="vs-invalid")
    if value is None or value == "":
        raise Unprocessable(
            context.message("UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE", cs.url, prop, op),
            issue_code="invalid",
            tx_code="vs-invalid",
        )
    if prop in _HIERARCHY_PROPERTIES and op in _HIERARCHY_OPS:
        return _HIERARCHY_OPS[op](context, cs, value)
    if op == "regex":
        matcher = compile_regex(context, value)
        if prop in _HIERARCHY_PROPERTIES:
            return [c for c in _within_budget(cs.order) if matcher(c.code)]
        return [c for c in _within_budget(cs.order) if any(matcher(str(v)) for v in _values(cs, c, prop))]
    if op == "=":
        return [c for c in cs.order if any(_text(v) == value for v in _values(cs, c, prop))]
    if op in ("in", "not-in"):
        wanted = {v.strip() for v in value.split(",")}
        inside = [c for c in cs.order if any(_text(v) in wanted for v in _values(cs, c, prop))]
        if op == "in":
            return inside
        inside_set = set(inside)
        return [c for c in cs.order if c not in inside_set]
    if op == "exists":
        present = value.strip().lower() == "true"
        return [c for c in cs.order if bool(_values(cs, c, prop)) == present]
    raise Unprocessable(
        context.message("FILTER_NOT_UNDERSTOOD", prop, op, value, cs.url),
        issue_code="not-supported",
        tx_code="vs-invalid",
    )


def _values(cs: CodeSystem, concept: Concept, prop: str) -> list:
    if prop in _HIERARCHY_PROPERTIES:
        return [concept.code]
    if prop == "display":
        return [concept.display] if concept.display else []
    if prop == "definition":
        return [concept.definition] if concept.definition else []
    if prop in ("inactive", "status", "notSelectable") and not cs.values(concept, prop):
        if prop == "inactive":
            return [cs.is_inactive(concept)]
        if prop == "notSelectable" and prop not in cs.property_defs:
            return [cs.is_abstract(concept)] if cs.is_abstract(concept) else []
        status = cs.status(concept)
        return [status] if status and prop == "status" else []
    return cs.values(concept, prop)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):  # a Coding value
        return value.get("code", "")
    return str(value)


def _anchor(context, cs: CodeSystem, code: str) -> Concept:
    concept = cs.locate(code)
    if concept is None:
        raise Unprocessable(
            context.message("FILTER_CODE_UNKNOWN", code, cs.url), issue_code="not-found", tx_code="vs-invalid"
        )
    return concept


# Hierarchy filters walk down (or up) from their concept: no need to visit the whole code system.
def _is_a(context, cs, value):
    concept = _anchor(context, cs, value)
    return [concept, *cs.descendants(concept)]


def _descendent_of(context, cs, value):
    return cs.descendants(_anchor(context, cs, value))


def _is_not_a(context, cs, value):
    concept = cs.locate(value)
    outside = {concept.code, *(c.code for c in cs.descendants(concept))} if concept else set()
    return [c for c in cs.order if c.code not in outside]


def _child_of(context, cs, value):
    concept = _anchor(context, cs, value)
    return [cs.concepts[code] for code in concept.children]


def _generalizes(context, cs, value):
    concept = _anchor(context, cs, value)
    return [*reversed(cs.ancestors(concept)), concept]


_HIERARCHY_OPS = {
    "is-a": _is_a,
    "descendent-of": _descendent_of,
    "is-not-a": _is_not_a,
    "child-of": _child_of,
    "generalizes": _generalizes,
}


def _within_budget(concepts: list[Concept]):
    """The concepts, with a look at the request's time budget every few thousand (a large code system)."""
    for start in range(0, len(concepts), 4096):
        budget.check()
        yield from concepts[start : start + 4096]


def compile_regex(context, pattern: str):
    """A full-match predicate for ``pattern``; a bad or too costly pattern is a 400."""
    try:
        compiled = compile_pattern(pattern)
    except re2.error as error:
        raise Unprocessable(
            context.message("REGEX_INVALID", pattern, str(error)), issue_code="invalid", tx_code="vs-invalid"
        ) from None
    return lambda text: compiled.fullmatch(text) is not None
