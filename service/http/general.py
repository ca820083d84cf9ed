"""HTTP binding of the general engine (any CodeSystem / ValueSet / ConceptMap), and the rule
that decides which engine answers: plain ICD-10-CM requests keep their fast path."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, current_app, request

from ..errors import InvalidRequest
from ..icd10cm.codes import ICD10CM, canonical_system
from ..terminology.engine import GeneralEngine
from ..terminology.params import TxParams
from . import params
from .fhir import FHIR_JSON, REQUEST_ID, json_body, respond

bp = Blueprint("general", __name__)
CACHE_ID_HEADER = "X-Cache-Id"
ANSWERED_BY_HEADER = "X-Answered-By"  # on an answer an upstream server gave


def _engine() -> GeneralEngine:
    return current_app.extensions["general"]


def tx_params() -> TxParams:
    given = request.headers.get("X-TOO-COSTLY-THRESHOLD")
    try:
        threshold = int(given) if given else None
    except ValueError:
        raise InvalidRequest("X-TOO-COSTLY-THRESHOLD must be an integer") from None
    return TxParams.read(
        params.request_entries(current_app.config["MAX_PARAMETERS"]), request.headers.get("Accept-Language"), threshold
    )


def _cache_id() -> str | None:
    return request.headers.get(CACHE_ID_HEADER)


# -- which engine answers ------------------------------------------------------------------------
def _names_icd10cm(value) -> bool:
    if isinstance(value, dict):
        value = value.get("system")
    elif isinstance(value, str) and "|" in value:
        value = value.split("|", 1)[0]
    return isinstance(value, str) and canonical_system(value) == ICD10CM


def icd10cm_code_system_request(flat: dict[str, list]) -> bool:
    """A CodeSystem operation on ICD-10-CM, or one naming no system at all (ICD-10-CM's own errors)."""
    named = [v for name in ("system", "url", "coding", "codingA", "codingB") for v in flat.get(name, ())]
    codeable = [
        c
        for cc in flat.get("codeableConcept", ())
        if isinstance(cc, dict)
        for c in cc.get("coding", ())
        if isinstance(c, dict)
    ]
    named += codeable
    if not named:
        return "tx-resource" not in flat
    return any(_names_icd10cm(v) for v in named)


def icd10cm_value_set_request(flat: dict[str, list], known_url) -> bool:
    """A ValueSet operation on one of ICD-10-CM's value sets (or naming none: ICD-10-CM's errors)."""
    for url in flat.get("url", ()):
        return isinstance(url, str) and known_url(url) and "tx-resource" not in flat
    for value_set in flat.get("valueSet", ()):
        includes = (value_set.get("compose") or {}).get("include", []) if isinstance(value_set, dict) else []
        return bool(includes) and all(
            isinstance(i, dict) and not i.get("valueSet") and _names_icd10cm(i) for i in includes
        )
    return "tx-resource" not in flat


def file_resource(kind: str, resource_id: str) -> dict | None:
    """A CodeSystem or ValueSet of codesystems/ or valuesets/ by id (None if there is none)."""
    return _engine().file(kind, resource_id)


def file_resources(kind: str) -> list[dict]:
    return _engine().files_of(kind)


# -- operations ----------------------------------------------------------------------------------
def _forwarded(upstream):
    """The upstream's answer to this very request (None when no upstream is to answer it)."""
    if upstream is None:
        return None
    base = current_app.config["BASE_PATH"]
    path = request.path[len(base) :] if request.path.startswith(base) else request.path
    body = orjson.dumps(json_body()) if request.method == "POST" else None  # the body as read (it was parsed)
    # JSON both ways (an XML body was read into JSON; the protocol layer writes XML for the client), and
    # this request's id, so that the upstream's log lines up with ours.
    headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON, "X-Request-Id": request.environ.get(REQUEST_ID, "")}
    if "Accept-Language" in request.headers:
        headers["Accept-Language"] = request.headers["Accept-Language"]
    answer = _engine().upstreams.send(upstream, request.method, path, request.query_string, body, headers)
    return Response(
        answer.body, status=answer.status, content_type=answer.content_type, headers={ANSWERED_BY_HEADER: answer.server}
    )


def _answer(operation, route, instance: dict | None = None):
    """The operation answered here, or forwarded when ``route`` names an upstream server for it."""
    params = tx_params()
    if instance is None:
        forwarded = _forwarded(route(params, _cache_id()))
        if forwarded is not None:
            return forwarded
    return respond(operation(params, _cache_id(), instance))


def expand(instance: dict | None = None):
    return _answer(_engine().expand, _engine().upstream_for_value_set, instance)


def validate_value_set(instance: dict | None = None):
    return _answer(_engine().validate_value_set, _engine().upstream_for_value_set, instance)


def validate_code_system(instance: dict | None = None):
    return _answer(_engine().validate_code_system, _engine().upstream_for, instance)


def subsumes():
    return _answer(lambda params, cache_id, _: _engine().subsumes(params, cache_id), _engine().upstream_for)


def lookup(instance: dict | None = None):
    return _answer(_engine().lookup, _engine().upstream_for, instance)


@bp.route("/ValueSet/$batch-validate-code", methods=["GET", "POST"])
def batch_validate():
    return respond(_engine().batch_validate(tx_params(), _cache_id()))


@bp.route("/ConceptMap/$translate", methods=["GET", "POST"])
def translate():
    return respond(_engine().translate(tx_params(), _cache_id()))


@bp.route("/$cache-control", methods=["POST"])
def cache_control():
    mode = request.args.get("mode")
    engine = _engine()
    if mode == "start":
        cache_id = engine.cache.start(tx_params().resources)
        return respond({"resourceType": "Parameters", "parameter": [{"name": "cache-id", "valueString": cache_id}]})
    if mode == "end":
        cache_id = _cache_id()
        if cache_id:
            engine.cache.end(cache_id)
        return respond({"resourceType": "Parameters", "parameter": [{"name": "ok", "valueBoolean": True}]})
    raise InvalidRequest("mode must be start or end", expression="mode")


@bp.get("/$versions")
def versions():
    return respond(
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "version", "valueString": "4.0.1"}, {"name": "default", "valueString": "4.0.1"}],
        }
    )
