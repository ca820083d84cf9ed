"""The upstream servers of the federation, as the last provider of the chain: a request on a code
system (or its implicit value set) that no provider here holds goes, as it came, to the upstream
server that serves it, and its answer comes back as it was given."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ..federation.upstreams import Answer, Upstreams
from .chain import Forwardable, OperationRequest
from .engine import Engine

FHIR_JSON = "application/fhir+json"


@dataclass
class Forwarded:
    """An upstream server's answer, passed on untouched (the HTTP layer names the server that gave it)."""

    answer: Answer


class UpstreamProvider:
    fast = False

    def __init__(self, engine: Engine, upstreams: Upstreams):
        self.engine = engine  # it knows what this server holds, so what must go upstream
        self.upstreams = upstreams

    def holds(self, request: OperationRequest) -> bool:
        return self.engine.upstream_for_request(request) is not None

    def read(self, kind: str, resource_id: str) -> dict | None:
        return None

    def resources(self, kind: str) -> list[dict]:
        return []

    def answer(self, request: OperationRequest) -> Forwarded:
        upstream = self.engine.upstream_for_request(request)
        assert upstream is not None  # the chain asked holds() first
        sent = request.forwardable or Forwardable()
        # JSON both ways (an XML body was read into JSON; the HTTP layer writes XML for the client), and
        # this request's id, so that the upstream's log lines up with ours.
        headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON, "X-Request-Id": sent.request_id}
        if request.accept_language:
            headers["Accept-Language"] = request.accept_language
        body = orjson.dumps(sent.body) if sent.body is not None else None
        return Forwarded(self.upstreams.send(upstream, sent.method, sent.path, sent.query, body, headers))
