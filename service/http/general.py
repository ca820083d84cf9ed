"""The operations only the in-memory engine answers ($batch-validate-code, $cache-control,
$versions), and ConceptMap read, search and $translate, which go through the chain (the maps between
ICD-10-CM releases are the ICD-10-CM provider's)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ..errors import InvalidRequest
from ..terminology.chain import TRANSLATE
from ..terminology.engine import Engine
from ..terminology.params import TxParams
from . import params
from .fhir import respond
from .fhir_version import SUPPORTED, spoken
from .operations import CACHE_ID_HEADER, answer, chain
from .search import search_bundle

bp = Blueprint("general", __name__)


def _engine() -> Engine:
    return chain().fallback


def tx_params() -> TxParams:
    return TxParams.read(
        params.request_entries(current_app.config["MAX_PARAMETERS"]),
        request.headers.get("Accept-Language"),
        request.headers.get("X-TOO-COSTLY-THRESHOLD"),
    )


def _cache_id() -> str | None:
    return request.headers.get(CACHE_ID_HEADER)


@bp.route("/ValueSet/$batch-validate-code", methods=["GET", "POST"])
def batch_validate():
    return respond(_engine().batch_validate(tx_params(), _cache_id()))


@bp.route("/ConceptMap/$translate", methods=["GET", "POST"])
@bp.route("/ConceptMap/<resource_id>/$translate", methods=["GET", "POST"])
def translate(resource_id: str | None = None):
    return answer(TRANSLATE, resource_id)


@bp.get("/ConceptMap/<resource_id>")
def read_concept_map(resource_id: str):
    return respond(chain().read("ConceptMap", resource_id))


@bp.get("/ConceptMap")
def search_concept_maps():
    return respond(search_bundle(chain().resources("ConceptMap"), "ConceptMap"))


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
    """The FHIR versions spoken (http.html#versions): at the base, R5 by the media type's fhirVersion; the
    default is the one this endpoint speaks when the media type names none."""
    default = spoken(request.environ)
    versions = [{"name": "version", "valueCode": version} for version in SUPPORTED]
    return respond({"resourceType": "Parameters", "parameter": [*versions, {"name": "default", "valueCode": default}]})
