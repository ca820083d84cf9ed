"""CodeSystem read and search, $lookup, $validate-code and $subsumes."""

from __future__ import annotations

from flask import Blueprint, current_app

from ..errors import NotFound
from ..terminology.chain import CODESYSTEM_VALIDATE, LOOKUP, SUBSUMES
from .fhir import respond
from .operations import answer, chain
from .search import search_bundle

bp = Blueprint("codesystem", __name__)


@bp.get("/CodeSystem/<resource_id>")
def read(resource_id: str):
    return respond(chain().read("CodeSystem", resource_id))


@bp.get("/StructureDefinition/<resource_id>")
def read_structure_definition(resource_id: str):
    definition = current_app.extensions["guidance_extension"]
    if resource_id != definition["id"]:
        raise NotFound(f"StructureDefinition/{resource_id} is not known on this server")
    return respond(definition)


@bp.get("/CodeSystem")
def search():
    return respond(search_bundle(chain().resources("CodeSystem"), "CodeSystem"))


@bp.route("/CodeSystem/$lookup", methods=["GET", "POST"])
@bp.route("/CodeSystem/<resource_id>/$lookup", methods=["GET", "POST"])
def lookup(resource_id: str | None = None):
    return answer(LOOKUP, resource_id)


@bp.route("/CodeSystem/$validate-code", methods=["GET", "POST"])
@bp.route("/CodeSystem/<resource_id>/$validate-code", methods=["GET", "POST"])
def validate_code(resource_id: str | None = None):
    return answer(CODESYSTEM_VALIDATE, resource_id)


@bp.route("/CodeSystem/$subsumes", methods=["GET", "POST"])
@bp.route("/CodeSystem/<resource_id>/$subsumes", methods=["GET", "POST"])
def subsumes(resource_id: str | None = None):
    return answer(SUBSUMES, resource_id)
