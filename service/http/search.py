"""Search on the conformance resources this server holds (CodeSystem, ValueSet): a Bundle with
paging, _summary and _elements. The resources are few, so the search runs over a list in memory."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import current_app, request

from ..errors import InvalidRequest
from ..icd10cm.codes import canonical_system

_SUBSETTED = {"tag": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}]}
# Elements _summary=true keeps: the FHIR summary elements these resources carry.
SUMMARY = (
    "resourceType",
    "id",
    "meta",
    "url",
    "identifier",
    "version",
    "name",
    "title",
    "status",
    "experimental",
    "date",
    "publisher",
    "caseSensitive",
    "hierarchyMeaning",
    "compositional",
    "versionNeeded",
    "content",
    "supplements",
    "count",
)


def _matches(resource: dict, args) -> bool:
    url = args.get("url")
    if url is not None and canonical_system(url) != resource.get("url"):
        return False
    for name in ("version", "status"):
        if args.get(name) is not None and args[name] != resource.get(name):
            return False
    for name in ("name", "title"):  # string search: case-insensitive, starts-with
        if args.get(name) is not None and not resource.get(name, "").lower().startswith(args[name].lower()):
            return False
    return True


def _shape(resource: dict, summary: str | None, elements: list[str]) -> dict:
    if elements:  # the mandatory elements come too
        kept = {k: v for k, v in resource.items() if k in ("resourceType", "id", "status", "content", *elements)}
    elif summary in ("true", "text"):
        kept = {k: v for k, v in resource.items() if k in SUMMARY}
    elif summary in (None, "false", "data"):
        return resource
    else:
        raise InvalidRequest(
            f"_summary must be true, false, text, data or count, not {summary!r}", expression="_summary"
        )
    kept["meta"] = _SUBSETTED
    return kept


def _integer(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be a whole number, not {raw!r}", expression=name) from None
    if value < 0:
        raise InvalidRequest(f"{name} cannot be negative", expression=name)
    return value


def search_bundle(resources: list[dict], resource_type: str) -> dict:
    args = request.args
    summary = args.get("_summary")
    elements = [e for e in args.get("_elements", "").split(",") if e]
    found = [r for r in resources if _matches(r, args)]
    count, offset = _integer("_count", None), _integer("_offset", 0) or 0
    page = found[offset:] if count is None else found[offset : offset + count]
    base = request.host_url.rstrip("/") + current_app.config["BASE_PATH"]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": request.url}],
    }
    if count is not None and offset + count < len(found):
        following = [(k, v) for k, v in args.items(multi=True) if k != "_offset"] + [("_offset", str(offset + count))]
        bundle["link"].append({"relation": "next", "url": f"{base}/{resource_type}?{urlencode(following)}"})
    if summary != "count":
        shaped = [_shape(r, summary, elements) for r in page]  # _shape also checks _summary
        if shaped:
            bundle["entry"] = [
                {"fullUrl": f"{base}/{resource_type}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                for r in shaped
            ]
    return bundle
