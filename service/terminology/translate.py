"""ConceptMap/$translate over the ConceptMaps the server holds or a request carries (R4 form:
``group.source`` / ``group.target`` and ``target.equivalence``)."""

from __future__ import annotations

from ..errors import InvalidRequest, NotFound
from .context import Context
from .library import split_canonical

# R5 relationships (maps written for R5) as R4 equivalences.
_EQUIVALENCE = {
    "related-to": "relatedto",
    "equivalent": "equivalent",
    "source-is-narrower-than-target": "wider",
    "source-is-broader-than-target": "narrower",
    "not-related-to": "disjoint",
}


def _equivalence(target: dict) -> str:
    return target.get("equivalence") or _EQUIVALENCE.get(target.get("relationship", ""), "relatedto")


def translate(context: Context) -> dict:
    params = context.params
    coding = params.complex("coding", "valueCoding") or params.complex("sourceCoding", "valueCoding") or {}
    source_code = params.string("sourceCode") or params.string("code") or coding.get("code")
    source_system = params.string("sourceSystem") or params.string("system") or coding.get("system")
    target_code = params.string("targetCode")
    target_system = params.string("targetSystem")
    if not source_code and not target_code:
        raise InvalidRequest("$translate needs sourceCode (or coding) or targetCode", expression="sourceCode")
    maps = _maps(context)
    matches = []
    for concept_map in maps:
        origin = context.vurl(concept_map)
        for group in concept_map.get("group", []):
            group_source, group_target = group.get("source"), group.get("target")
            if source_code:
                if source_system and group_source and split_canonical(group_source, None)[0] != source_system:
                    continue
                if target_system and group_target and split_canonical(group_target, None)[0] != target_system:
                    continue
                for element in group.get("element", []):
                    if element.get("code") != source_code:
                        continue
                    for target in element.get("target", []):
                        matches.append(
                            _match(
                                group_target, target.get("code"), target.get("display"), _equivalence(target), origin
                            )
                        )
            else:
                if target_system and group_target and split_canonical(group_target, None)[0] != target_system:
                    continue
                if source_system and group_source and split_canonical(group_source, None)[0] != source_system:
                    continue
                for element in group.get("element", []):
                    for target in element.get("target", []):
                        if target.get("code") == target_code:
                            match = _match(
                                group_target, target_code, target.get("display"), _equivalence(target), origin
                            )
                            match["part"].append(
                                {
                                    "name": "source",
                                    "valueCoding": _coding(group_source, element.get("code"), element.get("display")),
                                }
                            )
                            matches.append(match)
    useful = [m for m in matches if m["part"][1]["valueCode"] not in ("unmatched", "disjoint")]
    out: list[dict] = [{"name": "result", "valueBoolean": bool(useful)}]
    if not useful:
        out.append({"name": "message", "valueString": f"No translation was found for {source_code or target_code}"})
    out.extend({"name": "match", **m} for m in matches)
    return {"resourceType": "Parameters", "parameter": out}


def _maps(context: Context) -> list[dict]:
    params = context.params
    url = params.string("url") or params.string("conceptMap")
    given = (
        params.resource("conceptMap", "ConceptMap")
        if params.has("conceptMap") and any("resource" in e for e in params.all("conceptMap"))
        else None
    )
    if given is not None:
        return [given]
    if url:
        found = context.library.concept_map(url, params.string("conceptMapVersion"))
        if found is None:
            raise NotFound(f"A definition for the ConceptMap '{url}' could not be found", tx_code="not-found")
        return [found]
    return context.library.all_concept_maps()


def _coding(system: str | None, code: str | None, display: str | None) -> dict:
    coding = {}
    if system:
        url, version = split_canonical(system, None)
        coding["system"] = url
        if version:
            coding["version"] = version
    if code:
        coding["code"] = code
    if display:
        coding["display"] = display
    return coding


def _match(system: str | None, code: str | None, display: str | None, equivalence: str, origin: str) -> dict:
    return {
        "part": [
            {"name": "concept", "valueCoding": _coding(system, code, display)},
            {"name": "equivalence", "valueCode": equivalence},
            {"name": "originMap", "valueCanonical": origin},
        ]
    }
