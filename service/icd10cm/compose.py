"""ValueSet.compose over ICD-10-CM, compiled to one SQL condition on the ``concept`` table (alias c).

ICD-10-CM's hierarchy follows its codes: every descendant of a code starts with that code
(M54 -> M54.5 -> M54.50; S52.501 -> S52.501A), so is-a and descendent-of are range conditions on
the code index. Regular expressions run through RE2 (linear time: no pattern can hang a worker).
"""

from __future__ import annotations

from collections.abc import Callable

import re2

from ..errors import InvalidRequest, NotFound
from ..regex import compile_pattern
from .codes import ICD10CM, canonical_system, normalize_code
from .hcc import PROPERTIES as HCC_PROPERTIES

# What the compose filters support, for error messages.
SUPPORTED = (
    "concept is-a|descendent-of|is-not-a|generalizes|in|not-in|= CODE, code|display regex PATTERN, "
    "billable|notSelectable = true|false, chapter|block|parent = VALUE, "
    "parent|child|sevenChrDef exists true|false, "
    "hcc-v28|hcc-v24|hcc-v22|hcc-esrd-v24|hcc-esrd-v21|rxhcc-v08 = CATEGORY (or in CATEGORIES, or exists true|false), "
    "with paymentYear = YEAR (or in YEARS) to hold the include's risk adjustment filters to those payment years"
)
PAYMENT_YEAR = "paymentYear"  # qualifies the risk adjustment filters of its include (docs/hcc.md)
_BOOLEAN = {"true": 1, "false": 0}
_END = "\x7f"  # sorts after every character of a code: [code, code + _END) holds its descendants


class Compiled:
    """An SQL condition and its parameters."""

    def __init__(self, sql: str = "1", params: tuple = ()):
        self.sql, self.params = sql, params

    @classmethod
    def join(cls, parts: list[Compiled], operator: str, empty: str) -> Compiled:
        if not parts:
            return cls(empty)
        if len(parts) == 1:
            return parts[0]
        return cls("(" + f" {operator} ".join(p.sql for p in parts) + ")", tuple(x for p in parts for x in p.params))


def _codes(value: str) -> list[str]:
    return [normalize_code(v) for v in value.split(",") if v.strip()]


def _is_a(code: str) -> Compiled:
    return Compiled("(c.code = ? OR (c.code > ? AND c.code < ?))", (code, code, code + _END))


def _descendant_of(code: str) -> Compiled:
    return Compiled("(c.code > ? AND c.code < ?)", (code, code + _END))


def _payment_years(filters: list[dict]) -> tuple[str, ...]:
    """The payment years an include's ``paymentYear`` filters name (all of them must hold: their intersection)."""
    chosen: set[str] | None = None
    for spec in filters:
        if spec.get("property") != PAYMENT_YEAR:
            continue
        op, value = spec.get("op"), spec.get("value")
        years = {v.strip() for v in value.split(",")} if isinstance(value, str) else set()
        if op not in ("=", "in") or not years or not all(len(y) == 4 and y.isascii() and y.isdigit() for y in years):
            raise InvalidRequest(
                f"The filter paymentYear takes = YEAR or in YEAR,YEAR (four digits), not '{op} {value}'",
                tx_code="vs-invalid",
            )
        if op == "=" and len(years) > 1:
            raise InvalidRequest("The filter paymentYear = takes one year; use 'in' for several", tx_code="vs-invalid")
        chosen = years if chosen is None else chosen & years
    if chosen is None:
        return ()
    if not any(spec.get("property") in HCC_PROPERTIES for spec in filters):
        raise InvalidRequest(
            "The filter paymentYear qualifies a risk adjustment filter (hcc-v28 = 38, ...) of the same include;"
            " it selects nothing alone",
            tx_code="vs-invalid",
        )
    return tuple(sorted(chosen)) or ("none",)  # years that exclude each other: a year no mapping holds in


def _hcc_filter(prop: str, op: str, value: str, years: tuple[str, ...]) -> Compiled | None:
    """A risk adjustment filter: the codes that map to a category (=, in) or to any (exists) of a model, in any
    loaded payment year or in the ``years`` named."""
    held = " AND (" + " OR ".join("(',' || years || ',') LIKE ?" for _ in years) + ")" if years else ""
    held_params = tuple(f"%,{y},%" for y in years)
    if op in ("=", "in"):
        categories = [v.strip() for v in value.split(",") if v.strip()] if op == "in" else [value.strip()]
        marks = ",".join("?" * len(categories))
        return Compiled(
            f"c.code IN (SELECT code FROM hcc WHERE model = ? AND category IN ({marks}){held})",
            (prop, *categories, *held_params),
        )
    if op == "exists" and value in _BOOLEAN:
        negate = "" if _BOOLEAN[value] else "NOT "
        return Compiled(f"{negate}c.code IN (SELECT code FROM hcc WHERE model = ?{held})", (prop, *held_params))
    return None


def compile_filter(spec: dict, ancestors: Callable[[str], list[str]], years: tuple[str, ...] = ()) -> Compiled:
    """One filter; ``years``: the payment years its include names, for a risk adjustment filter."""
    prop, op, value = spec.get("property"), spec.get("op"), spec.get("value")
    if not isinstance(prop, str) or not isinstance(op, str) or not isinstance(value, str):
        raise InvalidRequest("A compose filter needs property, op and value (strings)")
    if prop in HCC_PROPERTIES and (hcc := _hcc_filter(prop, op, value, years)) is not None:
        return hcc
    if prop in ("concept", "code"):
        if op == "is-a":
            return _is_a(normalize_code(value))
        if op == "descendent-of":
            return _descendant_of(normalize_code(value))
        if op == "is-not-a":
            inner = _is_a(normalize_code(value))
            return Compiled(f"NOT {inner.sql}", inner.params)
        if op == "generalizes":
            code = normalize_code(value)
            chain = [code, *ancestors(code)]
            return Compiled(f"c.code IN ({','.join('?' * len(chain))})", tuple(chain))
        if op in ("in", "not-in", "="):
            codes = _codes(value)
            condition = f"c.code IN ({','.join('?' * len(codes))})" if codes else "0"
            return Compiled(f"NOT {condition}" if op == "not-in" else condition, tuple(codes))
    if op == "regex" and prop in ("concept", "code", "display"):
        try:
            compile_pattern(value)
        except re2.error as error:
            raise InvalidRequest(
                f"The regex filter '{value}' is not a valid regular expression ({error})", tx_code="vs-invalid"
            ) from None
        column = "display" if prop == "display" else "code"
        return Compiled("c.code IN (SELECT value FROM json_each(re2codes(?, ?)))", (value, column))
    if op == "=" and prop in ("billable", "notSelectable") and value in _BOOLEAN:
        billable = _BOOLEAN[value] if prop == "billable" else 1 - _BOOLEAN[value]
        return Compiled("c.billable = ?", (billable,))
    if op == "=" and prop in ("chapter", "parent"):
        return Compiled(f"c.{prop} = ?", (value if prop == "chapter" else normalize_code(value),))
    if op == "=" and prop == "block":
        return Compiled("('|' || c.blocks || '|') LIKE ?", (f"%|{value}|%",))
    if op == "exists" and value in _BOOLEAN:
        negate = "" if _BOOLEAN[value] else "NOT "
        present = {
            "parent": "c.parent IS NOT NULL",
            "child": "c.billable = 0",
            "sevenChrDef": "c.seventh IS NOT NULL",
        }.get(prop)
        if present:
            return Compiled(f"{negate}({present})")
    raise InvalidRequest(
        f"Unsupported filter '{prop} {op} {value}' on {ICD10CM}. Supported: {SUPPORTED}", tx_code="vs-invalid"
    )


def _check_shape(entry: dict) -> None:
    """Refuse an include or exclude whose JSON does not have the shape FHIR gives it."""
    system, concepts = entry.get("system"), entry.get("concept", [])
    filters, imports = entry.get("filter", []), entry.get("valueSet", [])
    if system is not None and not isinstance(system, str):
        raise InvalidRequest("compose system must be a string (a URI)")
    if not isinstance(concepts, list) or not all(
        isinstance(c, dict) and isinstance(c.get("code"), str) for c in concepts
    ):
        raise InvalidRequest("compose concept must be an array of objects with a code (a string)")
    if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
        raise InvalidRequest("compose filter must be an array of objects (property, op, value)")
    if not isinstance(imports, list) or not all(isinstance(url, str) for url in imports):
        raise InvalidRequest("compose valueSet must be an array of canonical URLs")


def compile_compose(
    compose: dict,
    ancestors: Callable[[str], list[str]],
    resolve: Callable[[str], dict] | None = None,
    seen: frozenset[str] = frozenset(),
) -> Compiled:
    """The SQL condition for the codes a compose selects (includes OR-ed, excludes removed)."""
    if not isinstance(compose, dict):
        raise InvalidRequest("ValueSet.compose must be an object")

    def part(entry: dict) -> Compiled:
        if not isinstance(entry, dict):
            raise InvalidRequest("compose.include and compose.exclude entries must be objects")
        _check_shape(entry)
        conditions = []
        system = entry.get("system")
        if system is not None and canonical_system(system) != ICD10CM:
            raise NotFound(
                f"A definition for CodeSystem '{system}' could not be found, so the value set cannot be expanded",
                tx_code="not-found",
            )
        concepts = entry.get("concept")
        if concepts:
            codes = [normalize_code(c["code"]) for c in concepts]
            conditions.append(Compiled(f"c.code IN ({','.join('?' * len(codes))})", tuple(codes)))
        filters = entry.get("filter", [])
        years = _payment_years(filters)
        conditions += [compile_filter(f, ancestors, years) for f in filters if f.get("property") != PAYMENT_YEAR]
        for url in entry.get("valueSet", ()):
            if resolve is None or url in seen:
                raise InvalidRequest(f"Value set {url} cannot be imported here (unknown, or a circular import)")
            conditions.append(compile_compose(resolve(url), ancestors, resolve, seen | {url}))
        if system is None and not entry.get("valueSet"):
            raise InvalidRequest("A compose include or exclude needs a system or a valueSet")
        return Compiled.join(conditions, "AND", "1")

    if not all(isinstance(compose.get(k, []), list) for k in ("include", "exclude")):
        raise InvalidRequest("compose.include and compose.exclude must be arrays")
    includes = [part(e) for e in compose.get("include", ())]
    excludes = [part(e) for e in compose.get("exclude", ())]
    if not includes:
        raise InvalidRequest("ValueSet.compose needs at least one include")
    included = Compiled.join(includes, "OR", "0")
    if not excludes:
        return included
    excluded = Compiled.join(excludes, "OR", "0")
    return Compiled(f"({included.sql} AND NOT {excluded.sql})", included.params + excluded.params)


def unmet_filters(compose: dict, ancestors: Callable[[str], list[str]], holds: Callable[[Compiled], bool]) -> list[str]:
    """Why a code is not in a value set: the filters of its (single) include that the code fails,
    or a general reason when the compose has several includes or an exclude removed the code."""
    includes = compose.get("include", ())
    if len(includes) != 1:
        return ["it matches none of the value set's includes"]
    include = includes[0]
    filters = include.get("filter", [])
    years = _payment_years(filters)
    reasons = [
        f"it does not meet the filter {f['property']} {f['op']} {f['value']}"
        + (f" (payment years {', '.join(years)})" if years and f.get("property") in HCC_PROPERTIES else "")
        for f in filters
        if f.get("property") != PAYMENT_YEAR and not holds(compile_filter(f, ancestors, years))
    ]
    if not reasons and include.get("concept"):
        reasons.append("it is not among the codes the value set lists")
    return reasons or ["an exclude of the value set removes it"]
