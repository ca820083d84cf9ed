"""The one error hierarchy of the service.

Each class carries the HTTP status and the FHIR ``OperationOutcome.issue.code`` it maps to; the
HTTP layer renders any of them as an OperationOutcome (``service/http/outcome.py``).
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 500
    issue_code = "exception"
    # Optional code from http://hl7.org/fhir/tools/CodeSystem/tx-issue-type
    tx_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        expression: str | None = None,
        tx_code: str | None = None,
        issue_code: str | None = None,
        issues: list[dict] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.expression = expression
        if tx_code is not None:
            self.tx_code = tx_code
        if issue_code is not None:
            self.issue_code = issue_code
        # Complete OperationOutcome issues, when one message is not the whole story.
        self.issues = issues


class LoadError(ServiceError):
    """A source could not be loaded into the store; names the file and what is wrong."""


class StoreError(ServiceError):
    """The store is missing or unreadable."""


class InvalidRequest(ServiceError):
    status = 400
    issue_code = "invalid"


class NotFound(ServiceError):
    status = 404
    issue_code = "not-found"
    tx_code = "not-found"


class NotAcceptable(ServiceError):
    status = 406
    issue_code = "not-supported"


class RequestTimeout(ServiceError):
    """A client that did not send its whole request in time."""

    status = 408
    issue_code = "timeout"


class PayloadTooLarge(ServiceError):
    status = 413
    issue_code = "too-long"


class UnsupportedMediaType(ServiceError):
    status = 415
    issue_code = "not-supported"


class Unprocessable(ServiceError):
    """A well-formed request the server cannot carry out with what it holds (a broken value set, say)."""

    status = 422
    issue_code = "processing"


class TooCostly(ServiceError):
    """An answer larger than this server gives at once (an expansion without count, say)."""

    status = 422
    issue_code = "too-costly"


class BadGateway(ServiceError):
    """An upstream terminology server could not be reached, or answered with something unusable."""

    status = 502
    issue_code = "transient"


class GatewayTimeout(ServiceError):
    """An upstream terminology server did not answer in time."""

    status = 504
    issue_code = "timeout"
