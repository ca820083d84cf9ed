"""FHIR R5 answers from the R4 ones the engines write (https://hl7.org/fhir/R5/diff.html).

The engines think in R4 and read R5 requests as they come (the R5 elements a terminology request
carries: filter operators, expansion and concept properties, ConceptMap relationships, are read in
either form). What differs on the way out is done here, once, on the finished answer:

- expansion properties and their values, which R4 carries in the cross-version extensions, become
  ``ValueSet.expansion.property`` and ``contains.property``;
- a ConceptMap's ``equivalence`` becomes ``relationship`` (with ``noMap`` for unmatched), its scopes
  and group versions take their R5 names and forms, and a ``$translate`` match says ``relationship``;
- a code system's version algorithm and a capability's ``content`` leave their extensions;
- the CapabilityStatement says 5.0.0.

Pure functions on JSON dicts: no Flask, nothing of the engines."""

from __future__ import annotations

R5_VERSION = "5.0.0"
_CROSS = "http://hl7.org/fhir/5.0/StructureDefinition/extension-"
EXPANSION_PROPERTY = f"{_CROSS}ValueSet.expansion.property"
CONTAINS_PROPERTY = f"{_CROSS}ValueSet.expansion.contains.property"
FILTER_OP = f"{_CROSS}ValueSet.compose.include.filter.op"
VERSION_ALGORITHM = f"{_CROSS}CanonicalResource.versionAlgorithm"
CAPABILITY_CONTENT = f"{_CROSS}TerminologyCapabilities.codeSystem.content"

# R4 ConceptMap equivalence -> R5 relationship (R5 ConceptMap, "Mapping from R4").
RELATIONSHIP = {
    "equivalent": "equivalent",
    "equal": "equivalent",
    "wider": "source-is-narrower-than-target",
    "subsumes": "source-is-narrower-than-target",
    "narrower": "source-is-broader-than-target",
    "specializes": "source-is-broader-than-target",
    "relatedto": "related-to",
    "inexact": "related-to",
    "disjoint": "not-related-to",
    "unmatched": "not-related-to",
}


def to_r5(resource: dict) -> dict:
    """The R5 form of an answer (changed in place, and returned)."""
    kind = resource.get("resourceType")
    for contained in resource.get("contained") or ():
        to_r5(contained)
    if kind == "Parameters":
        _parameters(resource.get("parameter") or ())
    elif kind == "Bundle":
        for entry in resource.get("entry") or ():
            if isinstance(entry.get("resource"), dict):
                to_r5(entry["resource"])
    elif kind == "ValueSet":
        _value_set(resource)
    elif kind == "CodeSystem":
        for key, value in _lift(resource, VERSION_ALGORITHM):
            resource["versionAlgorithm" + key[len("value") :]] = value  # valueString -> versionAlgorithmString
    elif kind == "ConceptMap":
        _concept_map(resource)
    elif kind == "TerminologyCapabilities":
        for entry in resource.get("codeSystem") or ():
            for _key, value in _lift(entry, CAPABILITY_CONTENT):
                entry["content"] = value
    elif kind == "CapabilityStatement":
        resource["fhirVersion"] = R5_VERSION
    return resource


def _value_of(extension: dict) -> tuple[str, object] | None:
    return next(((k, v) for k, v in extension.items() if k.startswith("value")), None)


def _take(node: dict, url: str) -> list[dict]:
    """The extensions ``url`` of node, which loses them (and its extension list, when nothing is left)."""
    extensions = node.get("extension")
    if not extensions:
        return []
    taken = [e for e in extensions if e.get("url") == url]
    if taken:
        kept = [e for e in extensions if e.get("url") != url]
        if kept:
            node["extension"] = kept
        else:
            del node["extension"]
    return taken


def _lift(node: dict, url: str) -> list[tuple[str, object]]:
    """The (value key, value) of each extension ``url`` of node, which loses them."""
    return [value for value in map(_value_of, _take(node, url)) if value is not None]


def _parameters(parameters) -> None:
    for parameter in parameters:
        if isinstance(parameter.get("resource"), dict):
            to_r5(parameter["resource"])
        parts = parameter.get("part")
        if not parts:
            continue
        if parameter.get("name") == "match":
            parameter["part"] = _match(parts)
        _parameters(parts)


def _match(parts: list) -> list:
    """A $translate match: R5 says ``relationship`` where R4 said ``equivalence``, after the map it came from."""
    equivalence = next((p.get("valueCode") for p in parts if p.get("name") == "equivalence"), None)
    if equivalence is None:
        return parts
    out = [p for p in parts if p.get("name") != "equivalence"]
    at = next((i + 1 for i, p in enumerate(out) if p.get("name") == "originMap"), 1)
    out.insert(at, {"name": "relationship", "valueCode": RELATIONSHIP.get(equivalence, "related-to")})
    return out


def _value_set(value_set: dict) -> None:
    compose = value_set.get("compose")
    if isinstance(compose, dict):
        for part in ("include", "exclude"):
            for include in compose.get(part) or ():
                for condition in include.get("filter") or ():
                    if isinstance(condition.get("_op"), dict):
                        for _key, value in _lift(condition["_op"], FILTER_OP):
                            condition["op"] = value
                        if not condition["_op"]:
                            del condition["_op"]
    expansion = value_set.get("expansion")
    if not isinstance(expansion, dict):
        return
    declared = [_declaration(e) for e in _take(expansion, EXPANSION_PROPERTY)]
    if declared:
        expansion["property"] = declared
    _contains(expansion.get("contains") or ())


def _declaration(extension: dict) -> dict:
    """An expansion.property extension (code, uri parts) as the R5 element."""
    parts = ((part.get("url"), _value_of(part)) for part in extension.get("extension") or ())
    return {name: value[1] for name, value in parts if name in ("code", "uri") and value is not None}


def _contains(entries) -> None:
    for entry in entries:
        properties = [_property(e) for e in _take(entry, CONTAINS_PROPERTY)]
        if properties:
            entry["property"] = properties
        _contains(entry.get("contains") or ())


def _property(extension: dict) -> dict:
    """A contains.property extension (code, value, subProperty parts) as the R5 element."""
    out: dict = {}
    subproperties = []
    for part in extension.get("extension") or ():
        name = part.get("url")
        value = _value_of(part)
        if name == "code" and value is not None:
            out["code"] = value[1]
        elif name in ("value", "value[x]") and value is not None:
            out[value[0]] = value[1]
        elif name == "subProperty":
            subproperties.append(_property(part))
    if subproperties:
        out["subProperty"] = subproperties
    return out


def _concept_map(concept_map: dict) -> None:
    identifier = concept_map.get("identifier")
    if isinstance(identifier, dict):
        concept_map["identifier"] = [identifier]
    for old, new in (
        ("sourceUri", "sourceScopeUri"),
        ("sourceCanonical", "sourceScopeCanonical"),
        ("targetUri", "targetScopeUri"),
        ("targetCanonical", "targetScopeCanonical"),
    ):
        if old in concept_map:
            concept_map[new] = concept_map.pop(old)
    for group in concept_map.get("group") or ():
        for side in ("source", "target"):
            version = group.pop(f"{side}Version", None)
            if version and side in group:
                group[side] = f"{group[side]}|{version}"
        for element in group.get("element") or ():
            _element(element)
        unmapped = group.get("unmapped")
        if isinstance(unmapped, dict):
            if unmapped.get("mode") == "provided":
                unmapped["mode"] = "use-source-code"
            if "url" in unmapped:
                unmapped["otherMap"] = unmapped.pop("url")


def _element(element: dict) -> None:
    targets = []
    for target in element.get("target") or ():
        equivalence = target.pop("equivalence", None)
        if equivalence == "unmatched":
            element["noMap"] = True
            continue
        if equivalence is not None:
            target["relationship"] = RELATIONSHIP.get(equivalence, "related-to")
        for depends in (*target.get("dependsOn", ()), *target.get("product", ())):
            _depends_on(depends)
        targets.append(target)
    if "target" in element:
        if targets:
            element["target"] = targets
        else:
            del element["target"]


def _depends_on(depends: dict) -> None:
    """R4 (property, system, value, display) -> R5 (attribute, value[x]: a Coding when a system is named)."""
    if "property" in depends:
        depends["attribute"] = depends.pop("property")
    value = depends.pop("value", None)
    system = depends.pop("system", None)
    display = depends.pop("display", None)
    if system is not None:
        coding = {"system": system, "code": value}
        if display is not None:
            coding["display"] = display
        depends["valueCoding"] = {k: v for k, v in coding.items() if v is not None}
    elif value is not None:
        depends["valueString"] = value
