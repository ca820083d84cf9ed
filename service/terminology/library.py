"""The canonical resources a request can see: CodeSystems, ValueSets and ConceptMaps.

Libraries stack: the server's own (loaded from ``codesystems/`` and ``valuesets/`` at start),
then a cached set (``$cache-control``), then the request's ``tx-resource`` parameters. A
resource in an upper layer hides one with the same url and version below it.
"""

from __future__ import annotations

from typing import Any

from .codesystem import CodeSystem
from .versions import is_wildcard, matches, newest
from .versions import sort_key as _sort_key


class Library:
    def __init__(self, parent: Library | None = None):
        self.parent = parent
        # url -> version -> code system (add_code_system files one under its url, which a CodeSystem may lack)
        self._code_systems: dict[str | None, dict[str | None, CodeSystem]] = {}
        self._value_sets: dict[str, dict[str | None, dict]] = {}
        self._concept_maps: dict[str, dict[str | None, list[dict]]] = {}

    def layer(self, resources: list[dict]) -> Library:
        """A new library over this one, holding ``resources`` (returns self when there are none)."""
        if not resources:
            return self
        child = Library(self)
        for resource in resources:
            child.add(resource)
        return child

    def add_code_system(self, cs: CodeSystem) -> None:
        """A code system served from elsewhere than a resource (ICD-10-CM from its store)."""
        self._code_systems.setdefault(cs.url, {})[cs.version] = cs

    def add(self, resource: dict) -> None:
        kind, url = resource.get("resourceType"), resource.get("url")
        if not isinstance(url, str):
            return
        version = resource.get("version")
        if kind == "CodeSystem":
            self._code_systems.setdefault(url, {})[version] = CodeSystem(resource)
        elif kind == "ValueSet":
            self._value_sets.setdefault(url, {})[version] = resource
        elif kind == "ConceptMap":
            # Maps are searched, not only read by url: keep every one (two may share url and version).
            self._concept_maps.setdefault(url, {}).setdefault(version, []).append(resource)

    # -- lookups ----------------------------------------------------------------------------
    def _versions(self, table: str, url: str) -> dict:
        merged: dict = {}
        library: Library | None = self
        chain = []
        while library is not None:
            chain.append(getattr(library, table).get(url))
            library = library.parent
        for versions in reversed(chain):
            if versions:
                merged.update(versions)
        return merged

    @staticmethod
    def _pick(versions: dict, version: str | None):
        if not versions:
            return None
        if version is None:
            return versions[newest(versions)]
        if version in versions:
            return versions[version]
        if is_wildcard(version):
            fitting = [v for v in versions if v is not None and matches(version, v)]
            if fitting:
                return versions[newest(fitting)]
        return None

    def code_system(self, url: str, version: str | None = None) -> CodeSystem | None:
        url, version = split_canonical(url, version)
        return self._pick(self._versions("_code_systems", url), version)

    def code_system_versions(self, url: str) -> list[str]:
        url, _ = split_canonical(url, None)
        return sorted((v for v in self._versions("_code_systems", url) if v is not None), key=_sort_key)

    def has_code_system(self, url: str) -> bool:
        return bool(self._versions("_code_systems", split_canonical(url, None)[0]))

    def value_set(self, url: str, version: str | None = None) -> dict | None:
        url, version = split_canonical(url, version)
        return self._pick(self._versions("_value_sets", url), version)

    def concept_map(self, url: str, version: str | None = None) -> dict | None:
        url, version = split_canonical(url, version)
        found = self._pick(self._versions("_concept_maps", url), version)
        return found[0] if found else None

    def _all(self, table: str) -> dict[tuple, Any]:
        """(url, version) -> entry over every layer, the upper layer winning."""
        out: dict[tuple, Any] = {}
        library: Library | None = self
        while library is not None:
            for url, versions in getattr(library, table).items():
                for version, entry in versions.items():
                    out.setdefault((url, version), entry)
            library = library.parent
        return out

    def all_concept_maps(self) -> list[dict]:
        return [m for maps in self._all("_concept_maps").values() for m in maps]

    def code_systems(self) -> list[CodeSystem]:
        return list(self._all("_code_systems").values())

    def supplements_for(self, url: str | None) -> list[CodeSystem]:
        return [
            cs
            for cs in self.code_systems()
            if cs.is_supplement and split_canonical(cs.supplements_url or "", None)[0] == url
        ]


def split_canonical(url: str, version: str | None) -> tuple[str, str | None]:
    """``url|version`` -> (url, version); an explicit version argument wins."""
    if "|" in url:
        url, _, embedded = url.partition("|")
        return url, version or embedded or None
    return url, version
