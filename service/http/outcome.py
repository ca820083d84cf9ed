"""Every error becomes an OperationOutcome with the right status; one place renders them all."""

from __future__ import annotations

import logging
from http import HTTPStatus

import orjson
from flask import Flask
from werkzeug.exceptions import HTTPException

from ..errors import ServiceError
from ..fhir.outcome import Issue
from .fhir import CONTENT_TYPE, respond

log = logging.getLogger(__name__)

# Werkzeug's own errors (unknown route, wrong method, body too large, ...) -> issue type.
_HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 413: "too-long", 415: "not-supported"}


def issue(severity: str, code: str, text: str, tx_code: str | None = None, expression: str | None = None) -> dict:
    return Issue(severity, code, text, tx_code, expression).render()


def operation_outcome(issues: list[dict]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": issues}


def error_body(error: ServiceError) -> dict:
    """The OperationOutcome that reports a ServiceError."""
    if error.issues:
        return operation_outcome(error.issues)
    return operation_outcome([issue("error", error.issue_code, error.message, error.tx_code, error.expression)])


def error_response(error: ServiceError) -> tuple[str, list, bytes]:
    """(status line, headers, body) of the OperationOutcome for an error, for the WSGI layers that answer
    without Flask (the front's, the protocol's and the fast path's errors look like the Flask views' ones)."""
    if error.status >= 500:
        log.error("%s", error.message)
    body = orjson.dumps(error_body(error))
    return (
        f"{error.status} {HTTPStatus(error.status).phrase}",
        [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))],
        body,
    )


def _render(status: int, entry: dict, headers: dict | None = None):
    return respond(operation_outcome([entry]), status, headers)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        if error.status >= 500:
            log.error("%s", error.message)
        return respond(error_body(error), error.status)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        text = error.description or error.name
        if status == 404:
            text = "No such resource or operation on this server; see /metadata for what it offers"
        allowed = getattr(error, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        return _render(
            status,
            issue("error", _HTTP_ISSUE_CODES.get(status, "invalid" if status < 500 else "exception"), text),
            headers,
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        return _render(500, issue("error", "exception", "The server failed to answer this request; it has been logged"))
