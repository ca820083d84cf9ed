"""CapabilityStatement and TerminologyCapabilities, built once at start-up."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from flask import Blueprint, current_app, request

from ..errors import InvalidRequest
from ..fhir.r5 import CAPABILITY_CONTENT as CONTENT
from ..icd10cm.codes import CANONICAL_BASE, ICD10CM
from ..icd10cm.operations import Icd10cm
from ..icd10cm.resources import EFFECTIVE_PERIOD, period
from ..terminology.versions import newest
from .fhir import respond
from .fhir_version import R4, R5, R5_PATH, spoken
from .operations import chain

SOFTWARE = "icd10cm-tx"


def software_version() -> str:
    try:
        return package_version(SOFTWARE)
    except PackageNotFoundError:
        return "0.0.0"


def _operation(name: str, resource: str) -> dict:
    return {"name": name, "definition": f"http://hl7.org/fhir/OperationDefinition/{resource}-{name}"}


def _with_our_operation(resource: dict, name: str) -> dict:
    """An operation of this server's own (docs/diagnoses.md), beside the standard ones."""
    definition = f"{CANONICAL_BASE}/OperationDefinition/{resource['type']}-{name}"
    resource["operation"].append({"name": name, "definition": definition})
    return resource


def _feature(definition: str, value) -> dict:
    """An application-feature extension (what the terminology ecosystem reads to know what we do)."""
    key = "valueBoolean" if isinstance(value, bool) else "valueCode"
    return {
        "url": "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature",
        "extension": [{"url": "definition", "valueCanonical": definition}, {"url": "value", key: value}],
    }


def capability_statement(base_url: str, released: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "url": f"{base_url}/metadata",
        "version": software_version(),
        "name": "ICD10CMTerminologyServer",
        "title": "ICD-10-CM terminology server with coding guidance",
        "status": "active",
        "date": released,
        "publisher": SOFTWARE,
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "software": {"name": SOFTWARE, "version": software_version(), "releaseDate": released},
        "implementation": {"description": "ICD-10-CM FHIR terminology service", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json", "application/fhir+xml", "xml"],
        "extension": [
            _feature("http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version", "1.9.3"),
            _feature("http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter", True),
        ],
        "rest": [
            {
                "mode": "server",
                "operation": [
                    {"name": "versions", "definition": "http://hl7.org/fhir/OperationDefinition/versions"},
                    {
                        "name": "cache-control",
                        "definition": "http://hl7.org/fhir/uv/tx-ecosystem/OperationDefinition/cache-control",
                    },
                ],
                "resource": [
                    _with_our_operation(
                        _searchable("CodeSystem", ("lookup", "validate-code", "subsumes")), "validate-diagnoses"
                    ),
                    _searchable("ValueSet", ("expand", "validate-code", "batch-validate-code")),
                    {
                        "type": "ConceptMap",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "operation": [_operation("translate", "ConceptMap")],
                    },
                    {
                        "type": "StructureDefinition",
                        "interaction": [{"code": "read"}],
                    },
                ],
            }
        ],
    }


def _searchable(kind: str, operations: tuple[str, ...]) -> dict:
    """A resource type read and searched by its canonical fields, with its operations."""
    return {
        "type": kind,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": name, "type": kind_of}
            for name, kind_of in (
                ("url", "uri"),
                ("version", "token"),
                ("name", "string"),
                ("title", "string"),
                ("status", "token"),
            )
        ],
        "operation": [_operation(name, kind) for name in operations],
    }


def _content(mode: str) -> list[dict]:
    """R5's TerminologyCapabilities.codeSystem.content, as the cross-version extension R4 carries it in."""
    return [{"url": CONTENT, "valueCode": mode}]


def _other_code_systems(code_systems) -> list[dict]:
    """The code systems of codesystems/ (the general engine), one entry per url with its versions."""
    by_url: dict[str, list] = {}
    for cs in code_systems:
        if cs.url != ICD10CM and not cs.is_supplement:
            by_url.setdefault(cs.url, []).append(cs)
    out = []
    for url, systems in sorted(by_url.items()):
        default = newest([cs.version for cs in systems])
        versions = [{"code": cs.version, "isDefault": cs.version == default} for cs in systems if cs.version]
        entry = {"extension": _content(systems[0].content), "uri": url}
        if versions:
            entry["version"] = versions
        out.append(entry)
    return out


def terminology_capabilities(engine: Icd10cm, base_url: str, released: str, code_systems=()) -> dict:
    default = engine.releases.default.version
    return {
        "resourceType": "TerminologyCapabilities",
        "url": f"{base_url}/metadata?mode=terminology",
        "version": software_version(),
        "name": "ICD10CMTerminologyServer",
        "title": "ICD-10-CM terminology server with coding guidance",
        "status": "active",
        "date": released,
        "kind": "instance",
        "software": {"name": SOFTWARE, "version": software_version()},
        "codeSystem": [
            {
                "extension": _content("complete"),
                "uri": ICD10CM,
                "version": [
                    {
                        "extension": [{"url": EFFECTIVE_PERIOD, "valuePeriod": period(release)}],
                        "code": release.version,
                        "isDefault": release.version == default,
                        "compositional": False,
                        "language": ["en"],
                    }
                    for release in engine.releases
                ],
            }
        ]
        + _other_code_systems(code_systems),
        "expansion": {
            "hierarchical": False,
            "paging": True,
            "textFilter": "Words in any order and word "
            "prefixes over titles and inclusion terms; or a code prefix, with or without the dot.",
            "parameter": [
                {"name": n}
                for n in sorted(
                    (
                        "activeOnly",
                        "check-system-version",
                        "count",
                        "date",
                        "displayLanguage",
                        "excludeNested",
                        "excludeNotForUI",
                        "filter",
                        "force-system-version",
                        "includeDefinition",
                        "includeDesignations",
                        "offset",
                        "property",
                        "system-version",
                        "tx-resource",
                        "useSupplement",
                        "valueSetVersion",
                        "default-valueset-version",
                    )
                )
            ],
        },
        "validateCode": {"translations": False},
        "codeSearch": "explicit",
    }


bp = Blueprint("metadata", __name__)


@bp.get("/metadata")
def metadata():
    mode = request.args.get("mode", "full")
    built = current_app.extensions["metadata"][spoken(request.environ)]
    if mode == "terminology":
        upstreams = chain().fallback.upstreams
        if not upstreams:
            return respond(built["terminology"])
        # What the federation serves, with the server that answers for it.
        terminology = dict(built["terminology"])
        terminology["codeSystem"] = terminology["codeSystem"] + upstreams.capabilities()
        return respond(terminology)
    if mode in ("full", "normative"):
        return respond(built["capabilities"])
    raise InvalidRequest(f"mode must be full, normative or terminology, not {mode!r}", expression="mode")


def build_metadata(engine: Icd10cm, base_url: str, code_systems=(), r5_code_systems=()) -> dict:
    """By FHIR version: R4's statements, and R5's (its own base and the R5 core code systems; the protocol
    layer gives every R5 answer R5's shapes)."""
    released = max(r.meta["built"] for r in engine.releases)[:10]
    r5_base = base_url + R5_PATH
    return {
        R4: {
            "capabilities": capability_statement(base_url, released),
            "terminology": terminology_capabilities(engine, base_url, released, code_systems),
        },
        R5: {
            "capabilities": capability_statement(r5_base, released),
            "terminology": terminology_capabilities(engine, r5_base, released, r5_code_systems),
        },
    }
