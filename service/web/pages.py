"""Pages for people: a page per code at /codes/<code>, and search at /search (beside the FHIR base)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, request

from ..errors import ServiceError
from ..terminology.codes import ICD10CM, normalize_code
from .view import code_links, code_page

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")
_SEARCH_SIZE = 50


def _engine():
    return current_app.extensions["terminology"]


@bp.get("/codes/<code>")
def code(code: str):
    engine = _engine()
    release = engine.releases.default
    try:
        page = code_page(engine, code)
    except ServiceError:
        return render_template("not_found.html", code=code, suggestions=_suggestions(code),
                               version=release.version), 404
    fhir_url = f"{current_app.config['BASE_PATH']}/CodeSystem/$lookup?" + urlencode(
        {"system": ICD10CM, "code": page["code"]})
    return render_template("code.html", p=page, fhir_url=fhir_url, version=page["version"],
                           links=lambda text: code_links(text, lambda c: release.concept(c) is not None))


@bp.get("/search")
def search():
    query = request.args.get("q", "").strip()[:200]
    engine = _engine()
    results, total = [], 0
    if query:
        expansion = engine.expand({"compose": {"include": [{"system": ICD10CM}]}}, text=query, count=_SEARCH_SIZE)
        results, total = expansion.contains, expansion.total
    return render_template("search.html", query=query, results=results, total=total,
                           version=engine.releases.default.version)


def _suggestions(text: str) -> list[tuple[str, str]]:
    """Codes the visitor may have meant: the nearest existing code above what was typed, then its
    children, then a text search."""
    release = _engine().releases.default
    code = normalize_code(text)
    while len(code.replace(".", "")) > 3 and release.concept(code) is None:
        code = code[:-1].rstrip(".")
    found = release.concept(code)
    if found is not None:
        return [(found.code, found.display)] + list(found.children[:10])
    expansion = _engine().expand({"compose": {"include": [{"system": ICD10CM}]}}, text=text, count=10)
    return [(c, d) for c, d, _ in expansion.contains]
