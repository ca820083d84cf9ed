"""The maps from one loaded ICD-10-CM release to another: ConceptMap resources and $translate.

A map lists only the codes that do not map to themselves (deleted, made a header, retitled);
every other code of the source is the same code in the target (``group.unmapped.mode =
provided``). Each pair of consecutive loaded releases is published as a ConceptMap; $translate
answers between any two loaded releases, either way.
"""

from __future__ import annotations

from ..errors import InvalidRequest, NotFound
from .codes import CANONICAL_BASE, ICD10CM, canonical_system, normalize_code
from .history import History, Mapping, Target
from .releases import Releases

_PREFIX = "icd10cm-"
_INFIX = "-to-"


def conceptmap_id(source: str, target: str) -> str:
    return f"{_PREFIX}{source}{_INFIX}{target}"


def conceptmap_url(source: str, target: str) -> str:
    return f"{CANONICAL_BASE}/ConceptMap/{conceptmap_id(source, target)}"


def versions_of(resource_id: str) -> tuple[str, str] | None:
    """(source, target) versions a map id names (icd10cm-2025-04-to-2026-04), or None."""
    if not resource_id.startswith(_PREFIX) or _INFIX not in resource_id:
        return None
    source, _, target = resource_id[len(_PREFIX) :].partition(_INFIX)
    return source, target


def _comment(source_code: str, target: Target, version: str) -> str | None:
    if target.comment:
        return target.comment
    if target.equivalence == "narrower":
        return f"{target.code} is one of the more specific codes that take the place of {source_code} in {version}"
    if target.equivalence == "inexact":
        return f"{target.code} takes the place of {source_code} in {version}, at the same level of the tabular"
    return None


def _element(mapping: Mapping, code: str) -> dict:
    row = mapping.gone.get(code)
    concept = None if row else mapping.source.concept(code)
    display = row.display if row else concept.display if concept else None
    targets = []
    for target in mapping.translate(code):
        entry: dict = {"equivalence": target.equivalence}
        if target.code:
            entry.update(code=target.code, display=target.display)
        comment = _comment(code, target, mapping.target.version)
        if comment:
            entry["comment"] = comment
        targets.append(entry)
    return {"code": code, **({"display": display} if display else {}), "target": targets}


def conceptmap_resource(mapping: Mapping) -> dict:
    source, target = mapping.source, mapping.target
    title = f"ICD-10-CM {source.version} to {target.version}"
    changed = mapping.changed()
    return {
        "resourceType": "ConceptMap",
        "id": conceptmap_id(source.version, target.version),
        "url": conceptmap_url(source.version, target.version),
        "version": f"{source.meta['source_sha256'][:8]}-{target.meta['source_sha256'][:8]}",
        "name": f"ICD10CM_{source.version}_to_{target.version}".replace("-", "_"),
        "title": title,
        "status": "active",
        "experimental": False,
        "date": target.effective,
        "publisher": "icd10cm-tx (derived from the CDC releases)",
        "description": (
            f"Where each code of ICD-10-CM {source.version} goes in {target.version}, derived from the two "
            f"releases: {len(changed)} codes that were deleted, made a header or retitled are listed; every "
            "other code is the same code in the target (unmapped mode 'provided'). A deleted code maps to the "
            "codes the tabular puts in its place (the new codes below its nearest surviving ancestor, with "
            "the same 7th character), or is unmatched."
        ),
        "sourceUri": ICD10CM,
        "targetUri": ICD10CM,
        "group": [
            {
                "source": ICD10CM,
                "sourceVersion": source.version,
                "target": ICD10CM,
                "targetVersion": target.version,
                "element": [_element(mapping, code) for code in changed],
                "unmapped": {"mode": "provided"},
            }
        ],
    }


class ReleaseMaps:
    """The maps between the loaded releases: published resources and $translate."""

    def __init__(self, releases: Releases, history: History):
        self.releases, self.history = releases, history

    def _ordered(self) -> list[str]:
        return [r.version for r in self.history.releases]

    def resources(self) -> list[dict]:
        versions = self._ordered()
        return [conceptmap_resource(self.history.mapping(a, b)) for a, b in zip(versions, versions[1:], strict=False)]

    def pair(self, resource_id: str) -> tuple[str, str] | None:
        """The (source, target) versions of a map id, when both are loaded and differ."""
        pair = versions_of(resource_id)
        loaded = self.releases.by_version
        return pair if pair and pair[0] != pair[1] and all(v in loaded for v in pair) else None

    def read(self, resource_id: str) -> dict | None:
        pair = self.pair(resource_id)
        return conceptmap_resource(self.history.mapping(*pair)) if pair else None

    def by_url(self, url: str) -> tuple[str, str] | None:
        if not url.startswith(f"{CANONICAL_BASE}/ConceptMap/"):
            return None
        return self.pair(url.rsplit("/", 1)[1].split("|", 1)[0])

    def translate(
        self,
        code: str | None,
        *,
        url: str | None = None,
        version: str | None = None,
        target_version: str | None = None,
        reverse: bool = False,
    ) -> dict:
        if not code or not code.strip():
            raise InvalidRequest(
                "$translate needs the code to translate (code and system, or coding)", expression="code"
            )
        if url:
            pair = self.by_url(url)
            if pair is None:
                raise NotFound(f"A definition for the ConceptMap '{url}' could not be found", tx_code="not-found")
            source, target = reversed(pair) if reverse else pair
        else:
            source = self.releases.resolve(version).version
            if not target_version:
                target_version = self.releases.default.version
            target = self.releases.resolve(target_version).version
        code = normalize_code(code)
        if source == target:
            matches = (
                [Target(code, c.display, "equivalent")] if (c := self.releases.by_version[source].concept(code)) else []
            )
        else:
            matches = self.history.mapping(source, target).translate(code)
        origin = conceptmap_url(source, target)
        useful = [m for m in matches if m.code]
        out: list[dict] = [{"name": "result", "valueBoolean": bool(useful)}]
        if not matches:
            out.append(
                {"name": "message", "valueString": f"'{code}' is not a code of ICD-10-CM {source}, so it has no map"}
            )
        elif not useful:
            out.append({"name": "message", "valueString": matches[0].comment or f"No translation for {code}"})
        for match in matches:
            part: list[dict] = [{"name": "equivalence", "valueCode": match.equivalence}]
            if match.code:
                coding = {"system": ICD10CM, "version": target, "code": match.code, "display": match.display}
                part.insert(0, {"name": "concept", "valueCoding": coding})
            part.append({"name": "source", "valueUri": origin})
            comment = _comment(code, match, target)
            if comment:
                part.append({"name": "message", "valueString": comment})
            out.append({"name": "match", "part": part})
        return {"resourceType": "Parameters", "parameter": out}


def names_release_map(flat: dict[str, list], maps: ReleaseMaps) -> bool:
    """A $translate this server answers from its releases: a map of ours by url; or an ICD-10-CM code to
    ICD-10-CM (the target system ICD-10-CM, or none named and a version to go from or to)."""
    if "conceptMap" in flat or "tx-resource" in flat:
        return False
    for url in flat.get("url", ()):
        return isinstance(url, str) and maps.by_url(url) is not None
    sources = [v for name in ("system", "sourceSystem") for v in flat.get(name, ())]
    sources += [c for name in ("coding", "sourceCoding") for c in flat.get(name, ())]
    targets = [v for name in ("targetsystem", "targetSystem") for v in flat.get(name, ())]
    if not sources or not all(_is_icd10cm(s) for s in sources):
        return False
    if targets:
        return all(_is_icd10cm(t) for t in targets)
    return bool(flat.get("targetVersion") or flat.get("version"))


def _is_icd10cm(value) -> bool:
    """A system named by a string (a GET's coding is system|code) or a coding."""
    if isinstance(value, dict):
        value = value.get("system")
    return isinstance(value, str) and canonical_system(value.split("|", 1)[0]) == ICD10CM
