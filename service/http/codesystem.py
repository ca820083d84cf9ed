"""CodeSystem read and search, $lookup, $validate-code and $subsumes."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.exceptions import MethodNotAllowed

from ..errors import NotFound
from ..terminology.chain import CODESYSTEM_VALIDATE, LOOKUP, SUBSUMES, VALIDATE_DIAGNOSES, OperationRequest
from .fhir import json_body, respond
from .operations import answer, chain, write
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


@bp.route("/CodeSystem/$validate-diagnoses", methods=["GET", "POST"])
def validate_diagnoses():
    """A Parameters body (coding in order, setting, date, version; or claim, bundle), or a bare Claim or
    Bundle, as a client has it. POST only: a list with its order does not fit a query string, and GET would
    otherwise read as the CodeSystem with that id."""
    if request.method == "GET":
        raise MethodNotAllowed(["POST"], "$validate-diagnoses takes a POST of Parameters, a Claim or a Bundle")
    body = json_body()
    kind = body.get("resourceType")
    if kind in ("Claim", "Bundle"):
        return write(chain().answer(OperationRequest(VALIDATE_DIAGNOSES, {kind.lower(): [body]})))
    return answer(VALIDATE_DIAGNOSES)


@bp.route("/CodeSystem/$subsumes", methods=["GET", "POST"])
@bp.route("/CodeSystem/<resource_id>/$subsumes", methods=["GET", "POST"])
def subsumes(resource_id: str | None = None):
    return answer(SUBSUMES, resource_id)
