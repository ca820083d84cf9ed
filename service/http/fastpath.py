"""The hot requests, answered without Flask: a plain GET of ICD-10-CM's $lookup, $validate-code or
$expand goes straight from the query string to the same answer function the Flask view calls.

It writes the answer in the format the protocol layer negotiated: JSON, or XML written from the
answer itself rather than converted from its JSON (a lookup from its pieces, most of them shared
with other codes and written once: render.LookupAnswer).

Flask's request machinery costs more than the answer itself (measured in bench/README.md). Anything
it does not recognise goes on to Flask untouched. What it recognises it answers, errors included:
an error is rendered by the same function as every other (outcome.error_response), so no request
is computed twice; an unexpected exception goes up to the protocol layer, which logs it and answers
500, as Flask would.

Its answers to lookups and validations depend only on the URL and the store: it marks them so
(``CACHEABLE`` in the environ) for the protocol layer's answer cache. Expansions carry a fresh
identifier and timestamp, and are not marked.
"""

from __future__ import annotations

from functools import partial

from ..errors import ServiceError
from ..icd10cm.provider import TerminologyEngine
from . import codesystem, valueset
from .fhir import CACHEABLE, FORMAT, encode_as
from .outcome import error_response
from .params import parse_query


class FastPath:
    def __init__(self, app, engine: TerminologyEngine, *, base_path: str, max_parameters: int, max_expansion: int):
        self.app = app
        self.max_parameters = max_parameters
        # path -> (operation: the answer function, whether its answers may be cached)
        self.routes = {
            f"{base_path}/CodeSystem/$lookup": (partial(codesystem.icd10cm_lookup, engine), True),
            f"{base_path}/CodeSystem/$validate-code": (partial(codesystem.icd10cm_validate_code, engine), True),
            f"{base_path}/ValueSet/$validate-code": (partial(valueset.icd10cm_validate_code, engine), True),
            f"{base_path}/ValueSet/$expand": (
                partial(valueset.icd10cm_expand, engine, max_expansion=max_expansion),
                False,
            ),
        }

    def __call__(self, environ, start_response):
        route = self.routes.get(environ.get("PATH_INFO", "")) if environ["REQUEST_METHOD"] == "GET" else None
        query = environ.get("QUERY_STRING", "")
        if route is None or "_pretty" in query:
            return self.app(environ, start_response)
        operation, cacheable = route
        try:
            resource = operation(parse_query(query, self.max_parameters))
        except ServiceError as error:
            status, headers, body = error_response(error)
            start_response(status, headers)
            return [body]
        if resource is None:  # not ICD-10-CM's: the general engine answers, through Flask
            return self.app(environ, start_response)
        if cacheable:
            environ[CACHEABLE] = True
        body, content_type = encode_as(resource, environ.get(FORMAT, "json"))
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]
