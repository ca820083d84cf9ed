"""FHIR JSON and XML: the media types of each, an answer in the format asked for, the request body."""

from __future__ import annotations

import orjson
from flask import Response, request

from ..errors import InvalidRequest, UnsupportedMediaType
from ..fhir import xml as fhir_xml

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
CONTENT_TYPE = f"{FHIR_JSON}; charset=utf-8"
XML_CONTENT_TYPE = f"{FHIR_XML}; charset=utf-8"
FORMAT = "icd10cm_tx.format"  # the environ key of the format the client wants: json or xml (protocol layer)
REQUEST_ID = "icd10cm_tx.request_id"  # the environ key of this request's id (given or made by the protocol layer)
# The environ key of an error found before the application ran (a body too large or too slow): the protocol
# layer renders it.
FRONT_ERROR = "icd10cm_tx.front_error"
# The environ key an answer sets when it depends only on its URL and the store: the protocol layer may keep it.
CACHEABLE = "icd10cm_tx.cacheable"
# The media types of each format, for bodies, Accept and _format (which also takes "json" and "xml").
JSON_TYPES = {"application/fhir+json", "application/json", "application/json+fhir", "text/json"}
XML_TYPES = {"application/fhir+xml", "application/xml", "application/xml+fhir", "text/xml"}


def encode(resource) -> bytes:
    """A resource as JSON: a dict, bytes already serialized, or an answer that writes its own JSON."""
    if isinstance(resource, bytes):
        return resource
    return orjson.dumps(resource) if isinstance(resource, dict) else resource.json()


def encode_as(resource, wanted: str) -> tuple[bytes, str]:
    """(body, content type) of a resource in the format asked for ("json" or "xml"). XML is written
    from the resource itself (a lookup from its pieces); already serialized JSON stays JSON, for the
    protocol layer to convert."""
    if wanted == "xml" and not isinstance(resource, bytes):
        return (resource.xml() if hasattr(resource, "xml") else fhir_xml.dumps(resource)), XML_CONTENT_TYPE
    return encode(resource), CONTENT_TYPE


def respond(resource, status: int = 200, headers: dict | None = None) -> Response:
    """Answer with a resource, given as a dict or already serialized."""
    if b"_pretty=true" in request.query_string:
        body = orjson.dumps(orjson.loads(encode(resource)), option=orjson.OPT_INDENT_2)
    else:
        body = encode(resource)
    return Response(body, status=status, content_type=CONTENT_TYPE, headers=headers)


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
    if mimetype in XML_TYPES:
        return fhir_xml.loads(request.get_data(cache=False))
    if mimetype not in JSON_TYPES:
        raise UnsupportedMediaType(
            f"Send the body as application/fhir+json or application/fhir+xml (got '{mimetype or 'no content type'}')"
        )
    try:
        body = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(f"The body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object (a FHIR resource)")
    return body
