"""The hot requests, answered without Flask: a plain GET of ICD-10-CM's $lookup, $validate-code or
$expand goes straight from the query string to the chain the Flask views ask.

Which provider answers is the engine's chain's choice; the fast path answers only for a provider
whose answers need nothing of Flask (ICD-10-CM's: ``fast``), and passes every other request on.

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

from ..errors import ServiceError
from ..terminology.chain import CODESYSTEM_VALIDATE, EXPAND, LOOKUP, VALUESET_VALIDATE, Chain, OperationRequest
from .fhir import CACHEABLE, FORMAT, encode_as
from .fhir_version import spoken
from .outcome import error_response
from .params import parse_query


class FastPath:
    def __init__(self, app, chains: dict[str, Chain], *, base_path: str, max_parameters: int):
        self.app = app
        self.chains = chains  # by the FHIR version a request speaks (the protocol layer decided it)
        self.max_parameters = max_parameters
        # path -> (operation, whether its answers may be cached)
        self.routes = {
            f"{base_path}/CodeSystem/$lookup": (LOOKUP, True),
            f"{base_path}/CodeSystem/$validate-code": (CODESYSTEM_VALIDATE, True),
            f"{base_path}/ValueSet/$validate-code": (VALUESET_VALIDATE, True),
            f"{base_path}/ValueSet/$expand": (EXPAND, False),
        }

    def __call__(self, environ, start_response):
        route = self.routes.get(environ.get("PATH_INFO", "")) if environ["REQUEST_METHOD"] == "GET" else None
        query = environ.get("QUERY_STRING", "")
        if route is None or "_pretty" in query:
            return self.app(environ, start_response)
        operation, cacheable = route
        try:
            request = OperationRequest(operation, parse_query(query, self.max_parameters))
            provider = self.chains[spoken(environ)].provider_for(request)
            if not getattr(provider, "fast", False):  # another provider's: through Flask, untouched
                return self.app(environ, start_response)
            resource = provider.answer(request)
        except ServiceError as error:
            status, headers, body = error_response(error)
            start_response(status, headers)
            return [body]
        if cacheable:
            environ[CACHEABLE] = True
        body, content_type = encode_as(resource, environ.get(FORMAT, "json"))
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]
