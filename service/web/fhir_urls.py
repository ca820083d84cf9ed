"""Which page shows a FHIR URL to a browser: the code's page for a lookup or validation of an ICD-10-CM
code, the search page for a text filter over all of ICD-10-CM. No Flask here: the protocol layer asks
before any view runs."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode

from ..icd10cm.codes import ICD10CM, canonical_system
from ..icd10cm.valuesets import IMPLICIT

_CODE_OPERATIONS = ("/CodeSystem/$lookup", "/CodeSystem/$validate-code", "/ValueSet/$validate-code")


def page_for(path: str, query: str, base_path: str) -> tuple[str, str] | None:
    """(path, query) of the page that shows the FHIR GET ``path?query``, or None when no page does."""
    if not path.startswith(base_path + "/"):
        return None
    operation = path[len(base_path) :]
    params = parse_qs(query)

    def first(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values else None

    code, version = first("code"), first("version") or first("systemVersion")
    if operation in _CODE_OPERATIONS and code and canonical_system(first("system")) == ICD10CM:
        return f"/codes/{quote(code.strip(), safe='')}", urlencode({"version": version}) if version else ""
    if operation == "/ValueSet/$expand" and first("filter") and first("url") == IMPLICIT:
        return "/search", urlencode({"q": first("filter")})
    return None
