"""CodeSystem read and search, $lookup and $validate-code."""

from __future__ import annotations

from flask import Blueprint, current_app

from ..errors import InvalidRequest, NotFound
from ..icd10cm.codes import ICD10CM, canonical_system
from ..icd10cm.model import Coding
from ..icd10cm.provider import TerminologyEngine
from ..icd10cm.resources import codesystem_id, codesystem_resource
from . import general, params, validation
from .fhir import respond
from .render import LookupAnswer
from .search import search_bundle

bp = Blueprint("codesystem", __name__)


def _engine() -> TerminologyEngine:
    return current_app.extensions["terminology"]


def _max_parameters() -> int:
    return current_app.config["MAX_PARAMETERS"]


def _release_for_id(engine: TerminologyEngine, resource_id: str):
    for release in engine.releases:
        if codesystem_id(release.version) == resource_id:
            return release
    raise NotFound(f"CodeSystem/{resource_id} is not known on this server")


def _supplement() -> dict:
    return current_app.extensions["guidance_supplement"]


def _resources():
    engine = _engine()
    default = engine.releases.default
    return (
        [codesystem_resource(r, r is default) for r in engine.releases]
        + [_supplement()]
        + general.file_resources("CodeSystem")
    )


def _general_code_system(resource_id: str | None) -> dict | None:
    """A code system of codesystems/ (the general engine), when the id is not one of ICD-10-CM's."""
    if resource_id is None or any(codesystem_id(r.version) == resource_id for r in _engine().releases):
        return None
    return general.file_resource("CodeSystem", resource_id)


@bp.get("/CodeSystem/<resource_id>")
def read(resource_id: str):
    if resource_id == _supplement()["id"]:
        return respond(_supplement())
    instance = _general_code_system(resource_id)
    if instance is not None:
        return respond(instance)
    release = _release_for_id(_engine(), resource_id)
    return respond(codesystem_resource(release, release is _engine().releases.default))


@bp.get("/StructureDefinition/<resource_id>")
def read_structure_definition(resource_id: str):
    definition = current_app.extensions["guidance_extension"]
    if resource_id != definition["id"]:
        raise NotFound(f"StructureDefinition/{resource_id} is not known on this server")
    return respond(definition)


@bp.get("/CodeSystem")
def search():
    return respond(search_bundle(_resources(), "CodeSystem"))


def _instance_system(engine: TerminologyEngine, resource_id: str | None, system: str | None, version: str | None):
    """At instance level the CodeSystem id fixes the system and version."""
    if resource_id is None:
        return system, version
    release = _release_for_id(engine, resource_id)
    if system is not None and canonical_system(system) != ICD10CM:
        raise InvalidRequest(f"CodeSystem/{resource_id} is {ICD10CM}, not {system}", expression="system")
    if version is not None and version != release.version:
        raise InvalidRequest(
            f"CodeSystem/{resource_id} is version {release.version}, not {version}", expression="version"
        )
    return ICD10CM, release.version


@bp.route("/CodeSystem/$lookup", methods=["GET", "POST"])
@bp.route("/CodeSystem/<resource_id>/$lookup", methods=["GET", "POST"])
def lookup(resource_id: str | None = None):
    flat = params.request_parameters(_max_parameters())
    instance = _general_code_system(resource_id)
    answer = None if instance is not None else icd10cm_lookup(_engine(), flat, resource_id)
    return general.lookup(instance) if answer is None else respond(answer)


def icd10cm_lookup(engine: TerminologyEngine, flat: dict, resource_id: str | None = None) -> LookupAnswer | None:
    """The answer to $lookup, or None when the request is not about ICD-10-CM (the general engine's)."""
    if resource_id is None and not general.icd10cm_code_system_request(flat):
        return None
    args = params.LOOKUP.bind(flat)
    coding: Coding | None = args.get("coding")
    code, system, version = args.get("code"), args.get("system"), args.get("version")
    if coding is not None:
        if code is not None:
            raise InvalidRequest("Give either code or coding, not both", expression="coding")
        code, system, version = coding.code, coding.system or system, coding.version or version
    system, version = _instance_system(engine, resource_id, system, version)
    result = engine.lookup(
        system,
        code,
        version=version,
        date=args.get("date"),
        properties=args.get("property"),
        guidance=args.get("guidance", "all"),
    )
    return LookupAnswer(result)


@bp.route("/CodeSystem/$validate-code", methods=["GET", "POST"])
@bp.route("/CodeSystem/<resource_id>/$validate-code", methods=["GET", "POST"])
def validate_code(resource_id: str | None = None):
    flat = params.request_parameters(_max_parameters())
    instance = _general_code_system(resource_id)
    answer = None if instance is not None else icd10cm_validate_code(_engine(), flat, resource_id)
    return general.validate_code_system(instance) if answer is None else respond(answer)


def icd10cm_validate_code(engine: TerminologyEngine, flat: dict, resource_id: str | None = None) -> dict | bytes | None:
    """The answer to CodeSystem/$validate-code, or None when the request is not about ICD-10-CM."""
    if resource_id is None and not general.icd10cm_code_system_request(flat):
        return None
    args = params.CODESYSTEM_VALIDATE_CODE.bind(flat)
    system = canonical_system(args.get("url") or args.get("system"))
    system, version = _instance_system(engine, resource_id, system, args.get("version"))
    return validation.answer(engine.validate_code, args, system, version, "url")


@bp.route("/CodeSystem/$subsumes", methods=["GET", "POST"])
@bp.route("/CodeSystem/<resource_id>/$subsumes", methods=["GET", "POST"])
def subsumes(resource_id: str | None = None):
    flat = params.request_parameters(_max_parameters())
    if resource_id is None and not general.icd10cm_code_system_request(flat):
        return general.subsumes()
    args = params.SUBSUMES.bind(flat)
    code_a, code_b = args.get("codeA"), args.get("codeB")
    system, version = args.get("system"), args.get("version")
    for name, coding in (("A", args.get("codingA")), ("B", args.get("codingB"))):
        if coding is not None:
            if name == "A":
                code_a = coding.code
            else:
                code_b = coding.code
            system, version = coding.system or system, coding.version or version
    if not code_a or not code_b:
        raise InvalidRequest("$subsumes needs codeA and codeB (or codingA and codingB)", expression="codeA")
    system, version = _instance_system(_engine(), resource_id, system, version)
    if system is None:
        raise InvalidRequest("$subsumes needs the system", expression="system")
    outcome = _engine().subsumes(system, code_a, code_b, version=version)
    return respond({"resourceType": "Parameters", "parameter": [{"name": "outcome", "valueCode": outcome}]})
