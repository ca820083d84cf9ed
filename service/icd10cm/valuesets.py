"""The value sets this server knows: those loaded from ``valuesets/`` and ICD-10-CM's implicit ones
(``http://hl7.org/fhir/sid/icd-10-cm?fhir_vs`` for every code, ``?fhir_vs=isa/[code]`` for a code
and its descendants)."""

from __future__ import annotations

from ..errors import NotFound
from .codes import ICD10CM, normalize_code

IMPLICIT = f"{ICD10CM}?fhir_vs"


class ValueSets:
    def __init__(self, resources: list[dict]):
        self.resources = resources
        self.by_url: dict[str, list[dict]] = {}
        for resource in resources:
            self.by_url.setdefault(resource["url"], []).append(resource)

    def get(self, url: str, version: str | None = None) -> dict:
        url = url.strip()
        if url == IMPLICIT or url.startswith(f"{IMPLICIT}=isa/"):
            return implicit(url)
        url, _, pinned = url.partition("|")
        version = version or pinned or None
        candidates = [r for r in self.by_url.get(url, ()) if version is None or r.get("version") == version]
        if not candidates:
            suffix = f" version '{version}'" if version else ""
            raise NotFound(f"A definition for the value set '{url}'{suffix} could not be found", tx_code="not-found")
        return candidates[-1]

    def knows(self, url: str) -> bool:
        url = url.strip()
        return url == IMPLICIT or url.startswith(f"{IMPLICIT}=isa/") or url.partition("|")[0] in self.by_url

    def has_id(self, resource_id: str) -> bool:
        return any(r["id"] == resource_id for r in self.resources)

    def by_id(self, resource_id: str) -> dict:
        for resource in self.resources:
            if resource["id"] == resource_id:
                return resource
        raise NotFound(f"ValueSet/{resource_id} is not known on this server")


def implicit(url: str) -> dict:
    """The ValueSet an implicit ICD-10-CM value set URL stands for."""
    include: dict = {"system": ICD10CM}
    title = "All ICD-10-CM codes"
    if url != IMPLICIT:
        code = normalize_code(url.split("=isa/", 1)[1])
        include["filter"] = [{"property": "concept", "op": "is-a", "value": code}]
        title = f"ICD-10-CM {code} and the codes below it"
    return {
        "resourceType": "ValueSet",
        "url": url,
        "name": "ICD10CMImplicit",
        "title": title,
        "status": "active",
        "compose": {"include": [include]},
    }
