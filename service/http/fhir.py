"""FHIR JSON in and out: format negotiation, the response, the request body."""

from __future__ import annotations

import orjson
from flask import Response, request

from ..errors import InvalidRequest, NotAcceptable, UnsupportedMediaType

FHIR_JSON = "application/fhir+json"
_CONTENT_TYPE = f"{FHIR_JSON}; charset=utf-8"
_JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir", "text/json"}
_XML_FORMATS = {"xml", "text/xml", "application/xml", "application/fhir+xml", "application/xml+fhir"}
_JSON_BODY_TYPES = {"application/fhir+json", "application/json", "application/json+fhir"}


def check_format() -> None:
    """Refuse a request for a format we do not produce (only JSON, for now)."""
    environ = request.environ
    if b"_format" not in request.query_string and "xml" not in environ.get("HTTP_ACCEPT", ""):
        return  # the common case, decided without parsing anything
    wanted = request.args.get("_format")
    if wanted is not None:
        wanted = wanted.strip().lower().split(";")[0]
        if wanted in _JSON_FORMATS:
            return
        if wanted in _XML_FORMATS:
            raise NotAcceptable("This server answers in FHIR JSON only; XML is not available yet")
        raise NotAcceptable(f"Unknown _format '{wanted}'; use json")
    accept = request.headers.get("Accept", "")
    if accept and "json" not in accept and "*/*" not in accept and "application/*" not in accept \
            and "xml" in accept:
        raise NotAcceptable("This server answers in FHIR JSON only (Accept: application/fhir+json)")


def respond(resource: dict | bytes, status: int = 200, headers: dict | None = None) -> Response:
    """Answer with a resource, given as a dict or already serialized."""
    if b"_pretty=true" in request.query_string:
        body = orjson.dumps(orjson.loads(resource) if isinstance(resource, bytes) else resource,
                            option=orjson.OPT_INDENT_2)
    else:
        body = resource if isinstance(resource, bytes) else orjson.dumps(resource)
    return Response(body, status=status, content_type=_CONTENT_TYPE, headers=headers)


def json_body() -> dict:
    """The request body as a JSON object (the size limit is enforced by Flask's MAX_CONTENT_LENGTH).

    Parsed once per request: deciding which engine answers reads it before the operation does."""
    cached = request.environ.get("icd10cm_tx.body")
    if cached is not None:
        return cached
    body = _parse_body()
    request.environ["icd10cm_tx.body"] = body
    return body


def _parse_body() -> dict:
    mimetype = request.mimetype
    if mimetype not in _JSON_BODY_TYPES:
        if mimetype in _XML_FORMATS:
            raise UnsupportedMediaType("This server reads FHIR JSON only; XML bodies are not supported yet")
        raise UnsupportedMediaType(
            f"Send the body as application/fhir+json (got '{mimetype or 'no content type'}')")
    try:
        body = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(f"The body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object (a FHIR resource)")
    return body
