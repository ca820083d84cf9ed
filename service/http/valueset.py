"""ValueSet read and search, $expand and $validate-code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial

from flask import Blueprint, current_app

from ..errors import InvalidRequest
from ..icd10cm.codes import ICD10CM, canonical_system
from ..icd10cm.expand import Expansion
from ..icd10cm.provider import TerminologyEngine
from . import general, params, validation
from .fhir import respond
from .search import search_bundle

bp = Blueprint("valueset", __name__)

# $expand parameters echoed in ValueSet.expansion.parameter when the request used them.
_ECHOED = {
    "filter": "valueString",
    "count": "valueInteger",
    "offset": "valueInteger",
    "date": "valueDateTime",
    "excludeNotForUI": "valueBoolean",
    "activeOnly": "valueBoolean",
    "displayLanguage": "valueCode",
    "valueSetVersion": "valueString",
    "includeDesignations": "valueBoolean",
    "includeDefinition": "valueBoolean",
    "excludeNested": "valueBoolean",
}
# R5 expansion properties, carried in R4 by the cross-version extensions.
_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property"
_CONTAINS_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"
EXPANSION_PROPERTIES = ("billable", "notSelectable", "parent", "chapter", "block")


def _engine() -> TerminologyEngine:
    return current_app.extensions["terminology"]


def _general_value_set(resource_id: str | None) -> dict | None:
    """A value set of the general engine, when the id is not one of ICD-10-CM's."""
    if resource_id is None or _engine().valuesets.has_id(resource_id):
        return None
    return general.file_resource("ValueSet", resource_id)


@bp.get("/ValueSet/<resource_id>")
def read(resource_id: str):
    return respond(_general_value_set(resource_id) or _engine().valuesets.by_id(resource_id))


@bp.get("/ValueSet")
def search():
    registry = _engine().valuesets
    others = [r for r in general.file_resources("ValueSet") if not registry.has_id(r["id"])]
    return respond(search_bundle(registry.resources + others, "ValueSet"))


def _icd10cm_version(args: dict, name: str) -> str | None:
    for canonical in args.get(name, ()):
        system, _, version = canonical.partition("|")
        if canonical_system(system) == ICD10CM and version:
            return version
    return None


def _system_version(args: dict, default: str) -> str:
    """The ICD-10-CM release to expand with: force-system-version, else system-version (value sets
    here name no version of their own), else the default; check-system-version must agree."""
    version = _icd10cm_version(args, "force-system-version") or _icd10cm_version(args, "system-version") or default
    checked = _icd10cm_version(args, "check-system-version")
    if checked is not None and checked != version:
        raise InvalidRequest(
            f"The expansion would use {ICD10CM} version '{version}', not '{checked}' as check-system-version requires",
            expression="check-system-version",
            tx_code="version-error",
        )
    return version


@bp.route("/ValueSet/$expand", methods=["GET", "POST"])
@bp.route("/ValueSet/<resource_id>/$expand", methods=["GET", "POST"])
def expand(resource_id: str | None = None):
    flat = params.request_parameters(current_app.config["MAX_PARAMETERS"])
    instance = _general_value_set(resource_id)
    answer = (
        None
        if instance is not None
        else icd10cm_expand(_engine(), flat, resource_id, max_expansion=current_app.config["MAX_EXPANSION"])
    )
    return general.expand(instance) if answer is None else respond(answer)


def icd10cm_expand(
    engine: TerminologyEngine, flat: dict, resource_id: str | None = None, *, max_expansion: int
) -> dict | None:
    """The expansion of one of ICD-10-CM's value sets, or None when the request is not about them."""
    if resource_id is None and not general.icd10cm_value_set_request(flat, engine.valuesets.knows):
        return None
    args = params.EXPAND.bind(flat)
    value_set = _value_set(engine, resource_id, args)
    version = _system_version(args, engine.releases.resolve(date=args.get("date")).version)
    expansion = engine.expand(
        value_set,
        version=version,
        text=args.get("filter"),
        count=args.get("count"),
        offset=args.get("offset", 0),
        exclude_not_for_ui=args.get("excludeNotForUI", False),
        max_size=max_expansion,
    )
    return expanded(value_set, expansion, args, engine)


@bp.route("/ValueSet/$validate-code", methods=["GET", "POST"])
@bp.route("/ValueSet/<resource_id>/$validate-code", methods=["GET", "POST"])
def validate_code(resource_id: str | None = None):
    flat = params.request_parameters(current_app.config["MAX_PARAMETERS"])
    instance = _general_value_set(resource_id)
    answer = None if instance is not None else icd10cm_validate_code(_engine(), flat, resource_id)
    return general.validate_value_set(instance) if answer is None else respond(answer)


def icd10cm_validate_code(engine: TerminologyEngine, flat: dict, resource_id: str | None = None) -> dict | bytes | None:
    """The answer to ValueSet/$validate-code on one of ICD-10-CM's value sets, or None when the request
    is not about them."""
    if resource_id is None and not general.icd10cm_value_set_request(flat, engine.valuesets.knows):
        return None
    args = params.VALUESET_VALIDATE_CODE.bind(flat)
    value_set = _value_set(engine, resource_id, args)
    system = canonical_system(args.get("system"))
    if system is None and all(
        canonical_system(i.get("system")) == ICD10CM for i in value_set.get("compose", {}).get("include", ())
    ):
        system = ICD10CM  # a value set of ICD-10-CM codes only: the system goes without saying
    validate = partial(engine.validate_in_value_set, value_set)
    return validation.answer(validate, args, system, args.get("systemVersion"), "system")


def _value_set(engine: TerminologyEngine, resource_id: str | None, args: dict) -> dict:
    if resource_id is not None:
        return engine.valuesets.by_id(resource_id)
    if "valueSet" in args:
        return args["valueSet"]
    if "url" in args:
        return engine.valuesets.get(args["url"], args.get("valueSetVersion"))
    raise InvalidRequest("Name the value set: url, valueSet, or ValueSet/[id]/...", expression="url")


def _contained(
    code: str,
    display: str,
    billable: int,
    version: str,
    designations: list[str],
    properties: list[tuple[str, object, str]],
) -> dict:
    entry: dict = {"system": ICD10CM, "version": version, "code": code, "display": display}
    if not billable:
        entry["abstract"] = True
    if designations:
        entry["designation"] = [{"language": "en", "value": term} for term in designations]
    if properties:
        entry["extension"] = [
            {
                "url": _CONTAINS_PROPERTY,
                "extension": [{"url": "code", "valueCode": name}, {"url": "value", f"value{kind}": value}],
            }
            for name, value, kind in properties
        ]
    return entry


def _properties(engine: TerminologyEngine, version: str, code: str, billable: int, wanted: list[str]):
    concept = (
        engine.releases.by_version[version].concept(code) if {"parent", "chapter", "block"} & set(wanted) else None
    )
    values: dict[str, tuple[object, str]] = {
        "billable": (bool(billable), "Boolean"),
        "notSelectable": (not billable, "Boolean"),
    }
    if concept is not None:
        values["chapter"] = (concept.chapter, "Code")
        values["block"] = (concept.blocks[0], "Code")
        if concept.parent:
            values["parent"] = (concept.parent, "Code")
    return [(name, *values[name]) for name in wanted if name in values]


def expanded(value_set: dict, expansion: Expansion, args: dict, engine: TerminologyEngine) -> dict:
    """The value set with its expansion: what was used is echoed, headers are marked abstract; inclusion
    terms as designations and properties when asked for."""
    used = [{"name": name, key: args[name]} for name, key in _ECHOED.items() if args.get(name) not in (None, "")]
    used.append({"name": "used-codesystem", "valueUri": f"{ICD10CM}|{expansion.version}"})
    wanted = [p for p in args.get("property", ()) if p in EXPANSION_PROPERTIES]
    release = engine.releases.by_version[expansion.version]
    contains = [
        _contained(
            code,
            display,
            billable,
            expansion.version,
            [n["text"] for n in release.notes(code) if n["type"] == "inclusionTerm"]
            if args.get("includeDesignations")
            else [],
            _properties(engine, expansion.version, code, billable, wanted),
        )
        for code, display, billable in expansion.contains
    ]
    dropped = ("expansion", "text") if args.get("includeDefinition") else ("compose", "expansion", "text")
    body = {k: v for k, v in value_set.items() if k not in dropped}

    body["expansion"] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "total": expansion.total,
        "offset": expansion.offset,
        "parameter": used,
    }
    if wanted:
        body["expansion"]["extension"] = [
            {"url": _PROPERTY, "extension": [{"url": "code", "valueCode": name}]} for name in wanted
        ]
    if contains:
        body["expansion"]["contains"] = contains
    return body
