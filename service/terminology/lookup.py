"""CodeSystem/$lookup over any FHIR CodeSystem."""

from __future__ import annotations

from ..errors import InvalidRequest, NotFound
from .codesystem import CodeSystem, Concept, property_value
from .context import Context
from .languages import PREFERRED
from .render import display_for
from .versions import versions_text

# Properties every lookup can report, besides the code system's own.
_STANDARD = ("parent", "child", "inactive")


def _code_system(context: Context, system: str | None, version: str | None) -> CodeSystem:
    if not system:
        raise InvalidRequest("The code system is needed (system, or the coding's system)", expression="system")
    cs = context.code_system(system, version)
    if cs is None:
        known = context.library.code_system_versions(system)
        if version and known:
            text = context.message("UNKNOWN_CODESYSTEM_VERSION", system, version, versions_text(known))
        else:
            text = context.message("UNKNOWN_CODESYSTEM", system)
        raise NotFound(text, tx_code="not-found", expression="system")
    return cs


def _concept(context: Context, cs: CodeSystem, code: str | None, name: str) -> Concept:
    if not code:
        raise InvalidRequest(f"{name} is needed", expression=name)
    concept = cs.locate(code)
    if concept is None:
        key = "Unknown_Code_in_Version" if cs.version else "Unknown_Code_in"
        raise NotFound(context.message(key, code, cs.url, cs.version), tx_code="invalid-code", expression=name)
    return concept


def subsumes(context: Context) -> str:
    """CodeSystem/$subsumes: how codeA relates to codeB in the code system's hierarchy."""
    params = context.params
    coding_a = params.complex("codingA", "valueCoding") or {}
    coding_b = params.complex("codingB", "valueCoding") or {}
    system = params.string("system") or coding_a.get("system") or coding_b.get("system")
    cs = _code_system(context, system, params.string("version") or coding_a.get("version"))
    a = _concept(context, cs, params.string("codeA") or coding_a.get("code"), "codeA")
    b = _concept(context, cs, params.string("codeB") or coding_b.get("code"), "codeB")
    if a.code == b.code:
        return "equivalent"
    if cs.subsumes(a, b):
        return "subsumes"
    if cs.subsumes(b, a):
        return "subsumed-by"
    return "not-subsumed"


def lookup(context: Context, instance: CodeSystem | None = None) -> dict:
    params = context.params
    coding = params.complex("coding", "valueCoding") or {}
    code = params.string("code") or coding.get("code")
    system = params.string("system") or coding.get("system")
    version = params.string("version") or coding.get("version")
    context.check_supplements()
    cs = instance or _code_system(context, system, version)
    concept = _concept(context, cs, code, "code")
    return {"resourceType": "Parameters", "parameter": _parameters(context, cs, concept)}


def _wanted(context: Context):
    names = context.params.strings("property")
    if not names or "*" in names:
        return None  # everything
    return set(names)


def _parameters(context: Context, cs: CodeSystem, concept: Concept) -> list[dict]:
    wanted = _wanted(context)
    out: list[dict] = []
    if cs.name:
        out.append({"name": "name", "valueString": cs.name})
    out.append({"name": "system", "valueUri": cs.url})
    if cs.version:
        out.append({"name": "version", "valueString": cs.version})
    out.append({"name": "code", "valueCode": concept.code})
    display = display_for(cs, concept, concept.display, context.params.languages)
    if display:
        out.append({"name": "display", "valueString": display})
    if concept.definition:
        out.append({"name": "definition", "valueString": concept.definition})
    if cs.is_abstract(concept):
        out.append({"name": "abstract", "valueBoolean": True})
    if concept.display:
        first = {"use": PREFERRED, "value": concept.display}
        if cs.language:
            first["language"] = cs.language
        designations = [first] + concept.designations
    else:
        designations = concept.designations
    for designation in designations:
        parts = []
        if designation.get("language"):
            parts.append({"name": "language", "valueCode": designation["language"]})
        if designation.get("use"):
            parts.append({"name": "use", "valueCoding": designation["use"]})
        if designation.get("source"):
            parts.append({"name": "source", "valueCanonical": designation["source"]})
        parts.append({"name": "value", "valueString": designation.get("value", "")})
        out.append({"name": "designation", "part": parts})
    for supplement in cs.supplements:
        out.append({"name": "used-supplement", "valueCanonical": supplement.vurl})

    def add(name: str, key: str, value, description: str | None = None) -> None:
        if wanted is not None and name not in wanted:
            return
        parts = [{"name": "code", "valueCode": name}, {"name": "value", key: value}]
        if description:
            parts.append({"name": "description", "valueString": description})
        out.append({"name": "property", "part": parts})

    for code in concept.parents:
        add("parent", "valueCode", code, cs.concepts[code].display)
    for code in concept.children:
        add("child", "valueCode", code, cs.concepts[code].display)
    add("inactive", "valueBoolean", cs.is_inactive(concept))
    for prop in concept.properties:
        name = prop.get("code")
        if name in ("parent", "child", "subsumedBy"):
            continue
        key, value = property_value(prop)
        if name and key:
            add(name, key, value)
    return out
