"""The in-memory engine: operations over any FHIR CodeSystem, ValueSet and ConceptMap the server
holds (codesystems/, valuesets/, and the code systems providers lend it, such as ICD-10-CM's for value
sets that mix systems) or a request carries. It answers with FHIR resources as plain dicts.

In the chain it holds what its library holds, and answers last what nobody holds (with the errors for
an unknown system or value set)."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import InvalidRequest, NotFound, ServiceError
from ..federation.upstreams import Upstream, Upstreams
from ..fhir.outcome import Issue, outcome
from .cache import ResourceCache
from .chain import CODESYSTEM_VALIDATE, EXPAND, LOOKUP, SUBSUMES, TRANSLATE, VALUESET_VALIDATE, OperationRequest
from .codesystem import CodeSystem
from .context import Context
from .expand import Expander
from .library import Library
from .lookup import lookup, subsumes
from .params import TxParams, named_systems
from .shapes import check_value_set
from .translate import translate
from .validate import Validator


class Engine:
    def __init__(
        self,
        library: Library,
        cache: ResourceCache | None = None,
        too_costly_limit: int = 1000,
        files: Iterable[dict] = (),
        upstreams: Upstreams | None = None,
    ):
        self.library = library
        self.upstreams = upstreams or Upstreams([])
        # The resources of codesystems/ and valuesets/, readable by id.
        self.files = {(r.get("resourceType"), r.get("id")): r for r in files if r.get("id")}
        self.cache = cache or ResourceCache()
        self.too_costly_limit = too_costly_limit

    # -- in the chain --------------------------------------------------------------------------------
    def read(self, kind: str, resource_id: str) -> dict | None:
        return self.files.get((kind, resource_id))

    def resources(self, kind: str) -> list[dict]:
        return [r for (k, _), r in self.files.items() if k == kind]

    def params(self, request: OperationRequest) -> TxParams:
        return TxParams.read(request.entries, request.accept_language, request.too_costly_threshold)

    def holds(self, request: OperationRequest) -> bool:
        if request.resource_id is not None:
            return (request.kind, request.resource_id) in self.files
        return self.upstream_for_request(request) is None

    def upstream_for_request(self, request: OperationRequest) -> Upstream | None:
        """The upstream server for a request on what this engine does not hold (None: it answers). Asked by
        this engine's and the upstream provider's ``holds`` and by ``answer``: worked out once per request."""
        if "upstream" not in request.derived:
            upstream = None
            if self.upstreams and request.resource_id is None and request.kind != "ConceptMap":
                params = self.params(request)
                if request.kind == "ValueSet":
                    upstream = self.upstream_for_value_set(params, request.cache_id)
                else:
                    upstream = self.upstream_for(params, request.cache_id)
            request.derived["upstream"] = upstream
        return request.derived["upstream"]

    def answer(self, request: OperationRequest) -> dict:
        params, cache_id = self.params(request), request.cache_id
        instance = self.read(request.kind, request.resource_id) if request.resource_id is not None else None
        if request.operation == SUBSUMES:
            return self.subsumes(params, cache_id)
        if request.operation == TRANSLATE:
            return self.translate(params, cache_id)
        operation = {
            LOOKUP: self.lookup,
            CODESYSTEM_VALIDATE: self.validate_code_system,
            EXPAND: self.expand,
            VALUESET_VALIDATE: self.validate_value_set,
        }[request.operation]
        return operation(params, cache_id, instance)

    def context(self, params: TxParams, cache_id: str | None = None) -> Context:
        library = self.library
        if cache_id:
            library = library.layer(self.cache.get(cache_id))
        return Context(library.layer(params.resources), params, self.too_costly_limit, self.upstreams)

    def upstream_for(self, params: TxParams, cache_id: str | None = None) -> Upstream | None:
        """The upstream server for a CodeSystem operation on systems this server does not hold."""
        if not self.upstreams:
            return None
        systems = named_systems(params)
        if not systems:
            return None
        library = self.context(params, cache_id).library
        if any(library.has_code_system(s) for s in systems):
            return None
        return self.upstreams.for_system(systems[0])

    def upstream_for_value_set(self, params: TxParams, cache_id: str | None = None) -> Upstream | None:
        """The upstream server for a ValueSet operation on the implicit value set (``?fhir_vs``) of a code
        system this server does not hold. Value sets mixing systems are answered here, part by part."""
        url = params.string("url") or ""
        if not self.upstreams or "?fhir_vs" not in url or params.has("valueSet"):
            return None
        return self.context(params, cache_id).upstream_for(url.split("?", 1)[0])

    # -- ValueSet ------------------------------------------------------------------------------------
    def value_set_for(self, context: Context, instance: dict | None = None) -> dict:
        """The value set an operation is about: the instance, the valueSet parameter, or url."""
        if instance is not None:
            return instance
        params = context.params
        given = params.resource("valueSet", "ValueSet")
        if given is not None:
            check_value_set(given, "valueSet")
            return given
        url = params.string("url") or params.string("context")
        if not url:
            raise InvalidRequest("Name the value set with url (or send it as valueSet)", expression="url")
        found = context.value_set(url, params.string("valueSetVersion")) or implicit_value_set(url)
        if found is None:
            version = params.string("valueSetVersion")
            raise NotFound(
                context.message("Unable_to_resolve_value_Set_", url + (f"|{version}" if version else "")),
                tx_code="not-found",
            )
        return found

    def expand(self, params: TxParams, cache_id: str | None = None, instance: dict | None = None) -> dict:
        context = self.context(params, cache_id)
        value_set = self.value_set_for(context, instance)
        return Expander(context).expand(value_set)

    @staticmethod
    def _instance(context: Context, instance: dict | None) -> CodeSystem | None:
        """The code system of an instance-level operation (CodeSystem/[id]/$lookup ...)."""
        if instance is None:
            return None
        return context.code_system(instance["url"], instance.get("version")) or CodeSystem(instance)

    # -- CodeSystem ------------------------------------------------------------------------------------
    def lookup(self, params: TxParams, cache_id: str | None = None, instance: dict | None = None) -> dict:
        context = self.context(params, cache_id)
        return lookup(context, self._instance(context, instance))

    def subsumes(self, params: TxParams, cache_id: str | None = None) -> dict:
        context = self.context(params, cache_id)
        return {"resourceType": "Parameters", "parameter": [{"name": "outcome", "valueCode": subsumes(context)}]}

    def validate_code_system(self, params: TxParams, cache_id: str | None = None, instance: dict | None = None) -> dict:
        context = self.context(params, cache_id)
        return Validator(context, code_system=self._instance(context, instance)).validate()

    def validate_value_set(self, params: TxParams, cache_id: str | None = None, instance: dict | None = None) -> dict:
        context = self.context(params, cache_id)
        return Validator(context, value_set=self.value_set_for(context, instance)).validate()

    def batch_validate(self, params: TxParams, cache_id: str | None = None) -> dict:
        """ValueSet/$batch-validate-code: each ``validation`` Parameters, with the shared ones around them."""
        shared = [e for e in params.entries if e.get("name") != "validation"]
        answers = []
        for entry in params.all("validation"):
            inner = entry.get("resource")
            if not isinstance(inner, dict) or inner.get("resourceType") != "Parameters":
                raise InvalidRequest("Each validation must be a Parameters resource", expression="validation")
            one = TxParams.read(
                shared + list(inner.get("parameter", [])), params.accept_language, params.too_costly_threshold
            )
            try:
                answer = self.validate_value_set(one, cache_id)
            except ServiceError as error:
                answer = outcome([Issue("error", error.issue_code, error.message, error.tx_code)])
            answers.append({"name": "validation", "resource": answer})
        return {"resourceType": "Parameters", "parameter": answers}

    # -- ConceptMap ------------------------------------------------------------------------------------
    def translate(self, params: TxParams, cache_id: str | None = None) -> dict:
        return translate(self.context(params, cache_id))


def implicit_value_set(url: str) -> dict | None:
    """The value set a code system's implicit URL stands for: ``[system]?fhir_vs`` (every code) or
    ``[system]?fhir_vs=isa/[code]`` (the code and those below it)."""
    system, marker, rest = url.partition("?fhir_vs")
    if not marker or not system:
        return None
    include: dict = {"system": system}
    if rest.startswith("=isa/") and len(rest) > 5:
        include["filter"] = [{"property": "concept", "op": "is-a", "value": rest[5:]}]
    elif rest:
        return None
    return {"resourceType": "ValueSet", "url": url, "status": "active", "compose": {"include": [include]}}
