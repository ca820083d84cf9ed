"""The terminology operations over HTTP: the Flask request as an ``OperationRequest``, the engine's
chain asked once, and its answer written. Which provider answers is the chain's business, not this
layer's."""

from __future__ import annotations

from flask import Response, current_app, request

from ..terminology.chain import Chain, Forwardable, OperationRequest
from ..terminology.forward import Forwarded
from . import params
from .fhir import REQUEST_ID, json_body, respond
from .fhir_version import spoken

CACHE_ID_HEADER = "X-Cache-Id"
ANSWERED_BY_HEADER = "X-Answered-By"  # on an answer an upstream server gave


def chain() -> Chain:
    """The chain of the FHIR version the request speaks: R5's differs in the core resources it holds."""
    return current_app.extensions["chains"][spoken(request.environ)]


def operation_request(operation: str, resource_id: str | None = None) -> OperationRequest:
    limit = current_app.config["MAX_PARAMETERS"]
    base = current_app.config["BASE_PATH"]
    path = request.path[len(base) :] if request.path.startswith(base) else request.path
    posted = request.method == "POST"
    body = params.body_entries(limit) if posted else None  # read and checked once
    return OperationRequest(
        operation,
        params.request_parameters(limit, body),
        body + params.query_entries(limit) if body is not None else None,
        resource_id=resource_id,
        cache_id=request.headers.get(CACHE_ID_HEADER),
        accept_language=request.headers.get("Accept-Language"),
        too_costly_threshold=request.headers.get("X-TOO-COSTLY-THRESHOLD"),
        forwardable=Forwardable(
            request.method,
            path,
            request.query_string,
            json_body() if posted else None,  # the body as read (it was parsed)
            request.environ.get(REQUEST_ID, ""),
        ),
    )


def write(answer) -> Response:
    if isinstance(answer, Forwarded):
        given = answer.answer
        return Response(
            given.body,
            status=given.status,
            content_type=given.content_type,
            headers={ANSWERED_BY_HEADER: given.server},
        )
    return respond(answer)


def answer(operation: str, resource_id: str | None = None) -> Response:
    return write(chain().answer(operation_request(operation, resource_id)))
