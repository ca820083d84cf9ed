"""Concepts as FHIR output: expansion ``contains`` entries and the display for the languages asked."""

from __future__ import annotations

from .codesystem import CodeSystem, Concept, property_value
from .languages import Languages, language_matches

# R5 expansion properties travel in R4 as cross-version extensions.
EXPANSION_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property"
CONTAINS_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"


def display_for(cs: CodeSystem | None, concept: Concept | None, fallback: str | None,
                languages: Languages | None, designations: list[dict] = ()) -> str | None:
    """The display in the first preferred language that has one; else the default display."""
    if languages is None or cs is None or concept is None:
        return fallback
    base_language = cs.language
    candidates = list(designations) + concept.designations
    for wanted in languages.ranges:
        if wanted == "*":
            return fallback
        if base_language and language_matches(wanted, base_language):
            return fallback
        for designation in candidates:
            if language_matches(wanted, designation.get("language")) and designation.get("value"):
                return designation["value"]
        if not base_language and wanted.lower().startswith("en"):
            return fallback
    return fallback


def designation_display(designation: dict) -> dict:
    out = {k: designation[k] for k in ("language", "use", "value") if k in designation}
    return out


def contains_entry(context, member) -> dict:
    params = context.params
    entry: dict = {"system": member.system}
    if member.abstract:
        entry["abstract"] = True
    if member.inactive:
        entry["inactive"] = True
    entry["code"] = member.code
    display = display_for(member.cs, member.concept, member.display, params.languages, member.designations)
    if display:
        entry["display"] = display
    if params.boolean("includeDesignations", False) and member.concept is not None:
        designations = [designation_display(d) for d in member.designations + member.concept.designations]
        if designations:
            entry["designation"] = designations
    extensions = _properties(context, member)
    if extensions:
        entry["extension"] = extensions
    return entry


def _properties(context, member) -> list[dict]:
    if member.concept is None:
        return []
    wanted = context.params.strings("property")
    status = member.cs.status(member.concept)
    if status and "status" not in wanted:
        wanted = ["status"] + wanted
    if not wanted:
        return []
    out = []
    for name in wanted:
        for prop in member.concept.properties:
            if prop.get("code") == name:
                key, value = property_value(prop)
                if key:
                    out.append({"url": CONTAINS_PROPERTY, "extension": [
                        {"url": "code", "valueCode": name}, {"url": "value", key: value}]})
        if name == "definition" and member.concept.definition:
            out.append({"url": CONTAINS_PROPERTY, "extension": [
                {"url": "code", "valueCode": name}, {"url": "value", "valueString": member.concept.definition}]})
    return out
