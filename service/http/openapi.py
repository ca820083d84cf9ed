"""The OpenAPI description of the endpoints, served at ``/openapi.json``: the operations' parameters
come from the marshmallow schemas that bind them (icd10cm/binding.py), so the description cannot drift from
what the server reads. Responses are described as far as every FHIR client may rely on them."""

from __future__ import annotations

import orjson
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, current_app
from marshmallow import INCLUDE, Schema, fields, validate

from ..icd10cm import binding
from . import params
from .fhir import FHIR_JSON, FHIR_XML

bp = Blueprint("openapi", __name__)


class _Open(Schema):
    """FHIR content: the elements named are those a client may rely on; others may be there too."""

    class Meta:
        unknown = INCLUDE


class ResourceSchema(_Open):
    resourceType = fields.String(required=True)


class ParametersSchema(ResourceSchema):
    resourceType = fields.String(required=True, validate=validate.OneOf(["Parameters"]))
    parameter = fields.List(fields.Nested(params.ParameterSchema))


class IssueSchema(_Open):
    severity = fields.String(required=True, validate=validate.OneOf(["fatal", "error", "warning", "information"]))
    code = fields.String(required=True)
    diagnostics = fields.String()
    expression = fields.List(fields.String())


class OperationOutcomeSchema(ResourceSchema):
    resourceType = fields.String(required=True, validate=validate.OneOf(["OperationOutcome"]))
    issue = fields.List(fields.Nested(IssueSchema), required=True, validate=validate.Length(min=1))


class ExpansionSchema(_Open):
    total = fields.Integer()
    offset = fields.Integer()
    contains = fields.List(fields.Dict())


class ValueSetSchema(ResourceSchema):
    resourceType = fields.String(required=True, validate=validate.OneOf(["ValueSet"]))
    expansion = fields.Nested(ExpansionSchema)


class BundleSchema(ResourceSchema):
    resourceType = fields.String(required=True, validate=validate.OneOf(["Bundle"]))
    type = fields.String(required=True)
    total = fields.Integer()
    entry = fields.List(fields.Dict())


# path (under the FHIR base) -> (summary, parameters schema or None, answer schema, methods)
OPERATIONS = {
    "/CodeSystem/$lookup": (
        "Look up an ICD-10-CM (or other) code: display, properties, coding guidance",
        binding.LookupSchema,
        "Parameters",
        ("get", "post"),
    ),
    "/CodeSystem/$validate-code": (
        "Validate a code against a code system",
        binding.CodeSystemValidateCodeSchema,
        "Parameters",
        ("get", "post"),
    ),
    "/CodeSystem/$subsumes": (
        "Test whether one code subsumes another",
        binding.SubsumesSchema,
        "Parameters",
        ("get", "post"),
    ),
    "/ValueSet/$expand": (
        "Expand a value set (text filter, paging)",
        binding.ExpandSchema,
        "ValueSet",
        ("get", "post"),
    ),
    "/ValueSet/$validate-code": (
        "Validate a code against a value set",
        binding.ValueSetValidateCodeSchema,
        "Parameters",
        ("get", "post"),
    ),
    "/CodeSystem/$validate-diagnoses": (
        "Check a diagnosis list as a claim carries it: each code, Excludes1, sequencing, missing and redundant codes",
        binding.ValidateDiagnosesSchema,
        "Parameters",
        ("post",),
    ),
    "/ConceptMap/$translate": (
        "Translate a code: by a ConceptMap, or from one ICD-10-CM release to another (targetVersion)",
        binding.TranslateSchema,
        "Parameters",
        ("get", "post"),
    ),
}
_ERRORS = {
    "400": "Invalid request",
    "404": "Unknown code system, value set or resource",
    "406": "A format other than FHIR JSON or XML was asked for",
    "413": "The body is too large",
    "415": "The body is neither FHIR JSON nor FHIR XML",
    "422": "Too costly, or not possible with what the server holds",
}


def _content(schema: str) -> dict:
    return {FHIR_JSON: {"schema": schema}, FHIR_XML: {"schema": {"type": "string"}}}


def _responses(answer: str) -> dict:
    responses = {"200": {"description": "The answer", "content": _content(answer)}}
    for status, description in _ERRORS.items():
        responses[status] = {"description": description, "content": _content("OperationOutcome")}
    return responses


def build(base_path: str, version: str) -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="icd10cm-tx: ICD-10-CM FHIR terminology server",
        version=version,
        openapi_version="3.0.3",
        plugins=[plugin],
        info={
            "description": "FHIR R4 terminology operations with coding guidance. Every error is an OperationOutcome."
        },
    )
    # In a query a Coding is written system|code; a CodeableConcept or a ValueSet needs a POST body.
    for field in (binding.CodingField, binding.CodeableConceptField, binding.ResourceField, binding.DateTimeField):
        plugin.map_to_openapi_type(field, "string", None)
    for name, resource_schema in (
        ("Resource", ResourceSchema),
        ("Parameters", ParametersSchema),
        ("OperationOutcome", OperationOutcomeSchema),
        ("ValueSet", ValueSetSchema),
        ("Bundle", BundleSchema),
    ):
        spec.components.schema(name, schema=resource_schema)
    for path, (summary, schema, answer, methods) in OPERATIONS.items():
        operations = {}
        if "get" in methods:
            operations["get"] = {
                "summary": summary,
                "parameters": [{"in": "query", "schema": schema}],
                "responses": _responses(answer),
            }
        if "post" in methods:
            operations["post"] = {
                "summary": f"{summary} (a Parameters body)",
                "responses": _responses(answer),
                "requestBody": {
                    "required": True,
                    "content": {FHIR_JSON: {"schema": "Parameters"}, FHIR_XML: {"schema": {"type": "string"}}},
                },
            }
        spec.path(path=base_path + path, operations=operations)
    spec.path(
        path=base_path + "/metadata",
        operations={
            "get": {
                "summary": "CapabilityStatement, or TerminologyCapabilities with mode=terminology",
                "parameters": [
                    {
                        "in": "query",
                        "name": "mode",
                        "schema": {"type": "string", "enum": ["full", "normative", "terminology"]},
                    }
                ],
                "responses": _responses("Resource"),
            }
        },
    )
    for kind in ("CodeSystem", "ValueSet"):
        spec.path(
            path=f"{base_path}/{kind}",
            operations={
                "get": {
                    "summary": f"Search {kind} resources",
                    "responses": _responses("Bundle"),
                    "parameters": [
                        {"in": "query", "name": n, "schema": {"type": "string"}}
                        for n in ("url", "version", "name", "title", "status")
                    ],
                }
            },
        )
        spec.path(
            path=f"{base_path}/{kind}/{{id}}",
            operations={
                "get": {
                    "summary": f"Read a {kind}",
                    "responses": _responses("Resource"),
                    "parameters": [
                        {
                            "in": "path",
                            "name": "id",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"},
                        }
                    ],
                }
            },
        )
    spec.path(
        path="/health",
        operations={
            "get": {
                "summary": "Liveness; with ?ready, readiness (every release file readable)",
                "parameters": [{"in": "query", "name": "ready", "schema": {"type": "string"}, "allowEmptyValue": True}],
                "responses": {
                    "200": {
                        "description": "pass",
                        "content": {
                            "application/health+json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["status"],
                                    "properties": {"status": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "503": {"description": "not ready"},
                },
            }
        },
    )
    _page_paths(spec)
    return spec.to_dict()


def _page_paths(spec: APISpec) -> None:
    """The pages for people (service/web): HTML, errors included."""
    html = {"text/html": {"schema": {"type": "string"}}}
    for path, summary, pattern, responses in (
        (
            "/codes/{code}",
            "The page of a code",
            "^[A-Za-z0-9.]{1,10}$",
            {
                "301": {"description": "The code's address, for a code written loosely"},
                "404": {"description": "Not a code of the release, with suggestions", "content": html},
            },
        ),
        (
            "/blocks/{block}",
            "The page of a block (a range of categories): its chapter and its categories",
            "^[A-Za-z0-9-]{1,12}$",
            {"404": {"description": "Not a block of the release", "content": html}},
        ),
    ):
        name = path.rsplit("{", 1)[1].rstrip("}")
        spec.path(
            path=path,
            operations={
                "get": {
                    "summary": summary,
                    "parameters": [
                        {
                            "in": "path",
                            "name": name,
                            "required": True,
                            "schema": {"type": "string", "pattern": pattern},
                        },
                        {"in": "query", "name": "version", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "The page", "content": html}, **responses},
                }
            },
        )
    spec.path(
        path="/favicon.svg",
        operations={
            "get": {
                "summary": "The site's icon",
                "responses": {
                    "200": {"description": "An SVG image", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}
                },
            }
        },
    )
    for path, summary in (("/search", "Search codes by words or the start of a code"), ("/", "The home page")):
        spec.path(
            path=path,
            operations={
                "get": {
                    "summary": summary,
                    "parameters": [
                        {"in": "query", "name": "q", "schema": {"type": "string"}},
                        {"in": "query", "name": "page", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "The page", "content": html},
                        **{status: {"description": _ERRORS[status], "content": html} for status in ("400", "422")},
                    },
                }
            },
        )


@bp.get("/openapi.json")
def openapi():
    document = current_app.extensions.get("openapi")
    if document is None:
        from .metadata import software_version

        document = current_app.extensions["openapi"] = orjson.dumps(
            build(current_app.config["BASE_PATH"], software_version())
        )
    return Response(document, content_type="application/json")
