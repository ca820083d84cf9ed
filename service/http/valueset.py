"""ValueSet read and search, $expand and $validate-code."""

from __future__ import annotations

from flask import Blueprint

from ..terminology.chain import EXPAND, VALUESET_VALIDATE
from .fhir import respond
from .operations import answer, chain
from .search import search_bundle

bp = Blueprint("valueset", __name__)


@bp.get("/ValueSet/<resource_id>")
def read(resource_id: str):
    return respond(chain().read("ValueSet", resource_id))


@bp.get("/ValueSet")
def search():
    return respond(search_bundle(chain().resources("ValueSet"), "ValueSet"))


@bp.route("/ValueSet/$expand", methods=["GET", "POST"])
@bp.route("/ValueSet/<resource_id>/$expand", methods=["GET", "POST"])
def expand(resource_id: str | None = None):
    return answer(EXPAND, resource_id)


@bp.route("/ValueSet/$validate-code", methods=["GET", "POST"])
@bp.route("/ValueSet/<resource_id>/$validate-code", methods=["GET", "POST"])
def validate_code(resource_id: str | None = None):
    return answer(VALUESET_VALIDATE, resource_id)
