"""The hot requests, answered without Flask: a plain GET of ICD-10-CM's $lookup, $validate-code or
$expand goes straight from the query string to the same answer function the Flask view calls.

It writes the answer in the format the protocol layer negotiated: JSON, or XML written from the
answer itself rather than converted from its JSON (a lookup from its pieces, most of them shared
with other codes and written once: render.LookupAnswer).

Flask's request machinery costs more than the answer itself (measured in bench/README.md). Anything
else, and any request that fails, goes on to Flask, which answers it (or renders the error) the usual
way: there is one implementation of each operation, and one of each error.

Its answers to lookups and validations depend only on the URL and the store: it marks them so
(``CACHEABLE`` in the environ) for the protocol layer's answer cache. Expansions carry a fresh
identifier and timestamp, and are not marked.
"""

from __future__ import annotations

from functools import partial

from ..terminology.engine import TerminologyEngine
from . import codesystem, valueset
from .fhir import CACHEABLE, FORMAT, encode_as
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
        answer = self._answer(environ, *route) if route is not None else None
        if answer is None:
            return self.app(environ, start_response)
        body, content_type = encode_as(answer, environ.get(FORMAT, "json"))
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def _answer(self, environ, operation, cacheable: bool):
        query = environ.get("QUERY_STRING", "")
        if "_pretty" in query:
            return None
        try:
            resource = operation(parse_query(query, self.max_parameters))
        except Exception:
            return None
        if resource is None:
            return None  # not ICD-10-CM's: the general engine answers, through Flask
        if cacheable:
            environ[CACHEABLE] = True
        return resource
