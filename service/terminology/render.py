"""Concepts as FHIR output: expansion ``contains`` entries, displays for the languages asked,
designations, and the properties every entry carries."""

from __future__ import annotations

from collections.abc import Sequence

from ..fhir.r5 import CONTAINS_PROPERTY  # R5's contains.property, as R4 carries it
from .codesystem import CONCEPT_PROPERTIES, CodeSystem, Concept, property_value
from .languages import PREFERRED, Languages, choose

_SD = "http://hl7.org/fhir/StructureDefinition/"
# Concept extensions that become properties: extension url -> (property code, value key, property uri).
_EXTENSION_PROPERTIES = {
    f"{_SD}codesystem-label": ("label", "valueString", f"{CONCEPT_PROPERTIES}#label"),
    f"{_SD}valueset-label": ("label", "valueString", f"{CONCEPT_PROPERTIES}#label"),
    f"{_SD}codesystem-conceptOrder": ("order", "valueDecimal", f"{CONCEPT_PROPERTIES}#order"),
    f"{_SD}valueset-conceptOrder": ("order", "valueDecimal", f"{CONCEPT_PROPERTIES}#order"),
    f"{_SD}itemWeight": ("weight", "valueDecimal", f"{CONCEPT_PROPERTIES}#itemWeight"),
}
# Concept extensions shown on an expansion entry as they are.
_COPIED_FROM_CODE_SYSTEM = {
    f"{_SD}coding-sctdescid",
    f"{_SD}rendering-style",
    f"{_SD}rendering-xhtml",
    f"{_SD}codesystem-alternate",
}
_COPIED_FROM_VALUE_SET = {
    f"{_SD}valueset-supplement",
    f"{_SD}valueset-deprecated",
    f"{_SD}structuredefinition-standards-status",
    f"{_SD}valueset-concept-definition",
    f"{_SD}coding-sctdescid",
    f"{_SD}rendering-style",
    f"{_SD}rendering-xhtml",
}
_DESIGNATION_EXTENSIONS = {
    f"{_SD}coding-sctdescid",
    f"{_SD}rendering-style",
    f"{_SD}rendering-xhtml",
    f"{_SD}structuredefinition-standards-status",
    f"{_SD}codesystem-alternate",
}


def candidates(
    cs: CodeSystem | None, concept: Concept | None, display: str | None, value_set_designations: Sequence[dict] = ()
) -> list[dict]:
    """Every name of a concept, the default display first (marked ``default``)."""
    out: list[dict] = []
    if display:
        first = {"value": display, "use": PREFERRED, "default": True}
        if cs is not None and cs.language:
            first["language"] = cs.language
        out.append(first)
    if concept is not None:
        out.extend(concept.designations)
    out.extend(value_set_designations)
    return out


def display_for(
    cs: CodeSystem | None,
    concept: Concept | None,
    fallback: str | None,
    languages: Languages | None,
    designations: Sequence[dict] = (),
) -> str | None:
    """The display in the first preferred language that has one; else the default display."""
    chosen = choose(candidates(cs, concept, fallback, designations), languages)
    return chosen.get("value") if chosen else None


def _designation(designation: dict) -> dict:
    out = {k: designation[k] for k in ("language", "use", "value") if k in designation}
    extensions = [e for e in designation.get("extension", []) if e.get("url") in _DESIGNATION_EXTENSIONS]
    if extensions:
        out["extension"] = extensions
    return out


def _designation_wanted(designation: dict, filters: list[str]) -> bool:
    if not filters:
        return True
    use = designation.get("use") or {}
    for wanted in filters:
        system, _, code = wanted.partition("|")
        if system == "urn:ietf:bcp:47" and code == designation.get("language"):
            return True
        if use and system == use.get("system") and code == use.get("code"):
            return True
    return False


def contains_entry(context, member, declared: dict[str, str | None]) -> dict:
    """One ``contains`` entry; the properties it carries are added to ``declared`` (code -> uri)."""
    if member.remote is not None:  # as the upstream server gave it
        return {k: v for k, v in member.remote.items() if k != "contains"}
    params = context.params
    entry: dict = {}
    copied = _copied_extensions(member)
    if copied:
        entry["extension"] = copied
    entry["system"] = member.system
    if member.show_version and member.version:
        entry["version"] = member.version
    if member.abstract:
        entry["abstract"] = True
    if member.inactive:
        entry["inactive"] = True
    entry["code"] = member.code
    names = candidates(member.cs, member.concept, member.display, member.designations)
    chosen = choose(names, params.languages)
    if chosen is not None:
        entry["display"] = chosen["value"]
    if params.boolean("includeDesignations", False):
        filters = params.strings("designation")
        designations = [_designation(d) for d in names if d is not chosen and _designation_wanted(d, filters)]
        if designations:
            entry["designation"] = designations
    properties = _properties(context, member, declared)
    if properties:
        entry.setdefault("extension", []).extend(properties)
    return entry


def _copied_extensions(member) -> list[dict]:
    out = []
    if member.concept is not None:
        out += [e for e in member.concept.extensions if e.get("url") in _COPIED_FROM_CODE_SYSTEM]
    out += [e for e in member.extensions if e.get("url") in _COPIED_FROM_VALUE_SET]
    return out


def _property(code: str, key: str, value) -> dict:
    return {"url": CONTAINS_PROPERTY, "extension": [{"url": "code", "valueCode": code}, {"url": "value", key: value}]}


def _properties(context, member, declared: dict[str, str | None]) -> list[dict]:
    if member.concept is None:
        return []
    cs, concept = member.cs, member.concept
    found: dict[str, list[tuple[str, object]]] = {}
    uris: dict[str, str | None] = {}
    status = cs.status(concept)
    if status and status.lower() != "active":
        found["status"] = [("valueCode", status)]
        uris["status"] = f"{CONCEPT_PROPERTIES}#status"
    # label, order and weight: from the code system's extensions, overridden by the value set's.
    for ext in concept.extensions + member.extensions:
        known = _EXTENSION_PROPERTIES.get(ext.get("url"))
        if known:
            code, key, uri = known
            _, value = property_value(ext)
            if value is not None:
                found[code] = [(key, value)]
                uris[code] = uri
    for name in context.params.strings("property"):
        if name == "definition":
            if concept.definition:
                found[name] = [("valueString", concept.definition)]
                uris[name] = f"{CONCEPT_PROPERTIES}#definition"
            continue
        values = [property_value(p) for p in concept.properties if p.get("code") == name or name == "*"]
        values = [(k, v) for k, v in values if k]
        if values:
            found[name] = values
            uris[name] = cs.property_uri(name)
    out: list[dict] = []
    for code, values in found.items():
        declared.setdefault(code, uris.get(code))
        out.extend(_property(code, key, value) for key, value in values)
    return out
