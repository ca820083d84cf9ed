"""The one way into the terminology operations: a request, and a chain of providers that may answer it.

The engine asks each provider in turn; the first that holds what the request is about answers it
(as HAPI's validation support chain does). The server's chain is ICD-10-CM from its store, then the
in-memory code systems and value sets (files, ``tx-resource`` parameters, ``$cache-control`` sets),
then the upstream servers of the federation. When none holds it, the in-memory engine answers, with
the errors a client expects for a system or value set nobody knows.

No Flask here: the HTTP layer (and the fast path, without Flask) builds an ``OperationRequest`` and
renders what comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ..errors import NotFound

# The operations a provider may answer, by the method that answers each.
LOOKUP, CODESYSTEM_VALIDATE, SUBSUMES = "lookup", "validate_code_system", "subsumes"
EXPAND, VALUESET_VALIDATE = "expand", "validate_value_set"
TRANSLATE = "translate"
VALIDATE_DIAGNOSES = "validate_diagnoses"  # ICD-10-CM's own: its provider holds every such request
OPERATIONS = {LOOKUP: "CodeSystem", CODESYSTEM_VALIDATE: "CodeSystem", SUBSUMES: "CodeSystem"}
OPERATIONS |= {VALIDATE_DIAGNOSES: "CodeSystem"}
OPERATIONS |= {EXPAND: "ValueSet", VALUESET_VALIDATE: "ValueSet", TRANSLATE: "ConceptMap"}


@dataclass
class Forwardable:
    """The request as it came, for a provider that passes it on to another server."""

    method: str = "GET"
    path: str = ""  # below the FHIR base: /CodeSystem/$lookup
    query: bytes = b""
    body: dict | None = None  # the POSTed resource, as read
    request_id: str = ""


@dataclass
class OperationRequest:
    operation: str  # one of OPERATIONS
    # name -> values: the GET query, or a POSTed Parameters' values (value[x], resource or part)
    flat: dict[str, list]
    # The same parameters as Parameters entries; a GET query's are built from ``flat`` when asked for.
    given_entries: list[dict] | None = None
    resource_id: str | None = None  # CodeSystem/[id]/$lookup ...
    cache_id: str | None = None  # X-Cache-Id: a $cache-control set of resources
    accept_language: str | None = None
    too_costly_threshold: str | None = None  # X-TOO-COSTLY-THRESHOLD, as sent
    forwardable: Forwardable | None = None  # set by the HTTP layer; None: nothing to pass on
    # What providers derived from the request, kept so that the chain's questions are answered once each.
    derived: dict = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> str:
        return OPERATIONS[self.operation]

    @property
    def entries(self) -> list[dict]:
        if self.given_entries is None:
            self.given_entries = [
                {"name": name, "valueString": value} for name, values in self.flat.items() for value in values
            ]
        return self.given_entries


class Provider(Protocol):
    def holds(self, request: OperationRequest) -> bool:
        """Whether this provider answers the request (it holds the system or value set named)."""
        ...

    def answer(self, request: OperationRequest) -> object:
        """The answer: a FHIR resource as a dict, or an answer object the HTTP layer knows how to write."""
        ...

    def read(self, kind: str, resource_id: str) -> dict | None:
        """A CodeSystem or ValueSet this provider publishes, by id (None if it has none)."""
        ...

    def resources(self, kind: str) -> list[dict]:
        """The CodeSystems or ValueSets this provider publishes."""
        ...


Fallback = TypeVar("Fallback", bound=Provider)


class Chain(Generic[Fallback]):
    def __init__(self, providers: list[Provider], fallback: Fallback):
        self.providers = providers
        self.fallback = fallback  # answers what nobody holds: its "unknown system" errors

    def provider_for(self, request: OperationRequest) -> Provider:
        for provider in self.providers:
            if provider.holds(request):
                return provider
        if request.resource_id is not None:
            raise NotFound(f"{request.kind}/{request.resource_id} is not known on this server")
        return self.fallback

    def answer(self, request: OperationRequest) -> object:
        return self.provider_for(request).answer(request)

    def read(self, kind: str, resource_id: str) -> dict:
        for provider in self.providers:
            found = provider.read(kind, resource_id)
            if found is not None:
                return found
        raise NotFound(f"{kind}/{resource_id} is not known on this server")

    def resources(self, kind: str) -> list[dict]:
        """Every provider's resources of a kind; an id published twice is the first provider's."""
        seen: dict[str, dict] = {}
        for provider in self.providers:
            for resource in provider.resources(kind):
                seen.setdefault(resource.get("id", ""), resource)
        return list(seen.values())
