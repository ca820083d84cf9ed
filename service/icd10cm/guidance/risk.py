"""Risk adjustment documentation guidance: what supports a diagnosis in a CMS risk adjustment audit, written once
for every risk-adjusting diagnosis (``general``) and once per family of CMS-HCC V28 categories, in
``guidance/hcc/families.toml`` (format: guidance/README.md). Checked on load like the editorial files: a bad file
stops the load, naming the field. Every V28 category a code of the release maps to must belong to one family."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ...errors import LoadError
from ...fhir.parameters import property_param
from .editorial import _TEXT, GUIDANCE_DIR, _problems

RISK_FILE = GUIDANCE_DIR / "hcc" / "families.toml"
GENERAL = "general"  # the entry for every risk-adjusting diagnosis, whatever its category
PROPERTY = "riskAdjustment"
SECTIONS = ("summary", "documentation", "pitfalls")


class _Source(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=_TEXT)
    url = fields.Url(required=False, schemes={"https", "http"})
    sections = fields.List(
        fields.String(validate=validate.OneOf(SECTIONS)), required=True, validate=validate.Length(min=1)
    )


class _Entry(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=_TEXT)
    summary = fields.String(required=True, validate=_TEXT)
    documentation = fields.List(fields.String(validate=_TEXT), required=True, validate=validate.Length(min=1))
    pitfalls = fields.List(fields.String(validate=_TEXT), required=True, validate=validate.Length(min=1))
    sources = fields.List(fields.Nested(_Source), required=True, validate=validate.Length(min=1))


class _Family(_Entry):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9-]{1,40}$"))
    v28 = fields.List(fields.Integer(validate=validate.Range(min=1)), required=True, validate=validate.Length(min=1))


class _Against(Schema):
    class Meta:
        unknown = RAISE

    guidelines = fields.String(required=True, validate=validate.Regexp(r"^FY\d{4}$"))
    payment_years = fields.String(required=True, validate=validate.Regexp(r"^\d{4}(-\d{4})?$"))


class _File(Schema):
    class Meta:
        unknown = RAISE

    verified = fields.Date(required=True)
    verified_against = fields.Nested(_Against, required=True)
    general = fields.Nested(_Entry, required=True)
    family = fields.List(fields.Nested(_Family), required=True, validate=validate.Length(min=1))


def _unsourced(name: str, entry: dict) -> list[str]:
    covered = {section for source in entry["sources"] for section in source["sections"]}
    missing = [s for s in SECTIONS if s not in covered]
    return [f"{name}.sources: no source names {', '.join(missing)} in its sections"] if missing else []


def read(path: Path = RISK_FILE) -> dict[str, dict]:
    """The entries by family id (``general`` included), each with the file's ``verified`` and
    ``verified_against``; raises LoadError naming the file and every failing field."""
    try:
        raw = _File().load(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LoadError(f"{path}: not valid TOML ({error})") from None
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"file": error.messages}
        raise LoadError(f"{path}: {'; '.join(_problems(messages))}") from None
    problems = _unsourced(GENERAL, raw["general"])
    owner: dict[int, str] = {}
    for family in raw["family"]:
        problems += _unsourced(family["id"], family)
        for category in family["v28"]:
            if category in owner:
                problems.append(f"{family['id']}.v28: category {category} is in {owner[category]} too")
            owner[category] = family["id"]
    ids = [f["id"] for f in raw["family"]]
    problems += [
        f"family: id '{i}' is used twice" for i in sorted({i for i in ids if ids.count(i) > 1 or i == GENERAL})
    ]
    if problems:
        raise LoadError(f"{path}: {'; '.join(problems)}")
    stamp = {"verified": raw["verified"].isoformat(), "verified_against": raw["verified_against"]}
    entries = {GENERAL: {"id": GENERAL, **raw["general"], **stamp}}
    entries.update((f["id"], {**f, **stamp}) for f in raw["family"])
    return entries


def family_index(entries: dict[str, dict]) -> dict[str, str]:
    """V28 category -> the id of the family that holds it."""
    return {str(c): f["id"] for f in entries.values() for c in f.get("v28", ())}


def families_of(index: dict[str, str], v28_categories: Iterable[str]) -> list[str]:
    """The families a mapped code's guidance comes from: those of its V28 categories (a code may map to two:
    E08.311, eye disease and diabetes), or ``general`` alone for a code that maps only in other models. Raises
    LoadError for a V28 category that no family holds."""
    found: list[str] = []
    for category in v28_categories:
        if category not in index:
            raise LoadError(f"{RISK_FILE}: no family holds CMS-HCC V28 category {category}")
        if index[category] not in found:
            found.append(index[category])
    return found or [GENERAL]


def entries_of(record: dict) -> list[dict]:
    """One ``riskAdjustment`` property: the family (value) and its title, then its text as subproperties."""
    parts: list[tuple[str, object, str]] = [("summary", record["summary"], "String")]
    parts += [("documentation", text, "String") for text in record["documentation"]]
    parts += [("pitfall", text, "String") for text in record["pitfalls"]]
    parts += [
        ("source", f"{s['title']} <{s['url']}>" if s.get("url") else s["title"], "String") for s in record["sources"]
    ]
    parts += [("category", str(c), "Code") for c in record.get("v28", ())]
    parts.append(("verified", record["verified"], "DateTime"))
    return [property_param(PROPERTY, record["id"], "Code", record["title"], parts)]
