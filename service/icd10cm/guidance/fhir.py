"""Guidance in FHIR: lookup properties, one extension (on the ``guidance`` output parameter), the
supplement that declares the properties, and the StructureDefinition of the extension.

Guidance items are built once as ``$lookup`` property entries; the extension carrying the same
items on ``$lookup`` and ``$validate-code`` answers is derived from them mechanically (a
property becomes a sub-extension named by its code; its value, description and subproperties
become nested sub-extensions).
"""

from __future__ import annotations

import orjson

from ...fhir.parameters import property_param
from ..codes import CANONICAL_BASE, ICD10CM

GUIDANCE_EXTENSION = f"{CANONICAL_BASE}/StructureDefinition/icd10cm-guidance"
SUPPLEMENT_URL = f"{CANONICAL_BASE}/CodeSystem/icd10cm-guidance"

# code -> (value type, subproperties as (code, type), description)
PROPERTIES = {
    "summary": ("string", (), "One sentence: what the code classifies (editorial)"),
    "region": ("string", (), "Body region (editorial)"),
    "scope": (
        "code",
        (),
        "The category or code the editorial entry was written for, when the code inherits it from above (editorial)",
    ),
    "documentation": ("string", (), "What the chart must show to support the code (editorial)"),
    "pitfall": ("string", (), "A common coding mistake with this code (editorial)"),
    "clinicalContext": ("string", (), "Clinical and coding context (editorial)"),
    "moreSpecific": (
        "code",
        (("when", "string"),),
        "A more specific or alternative code, and the documentation that justifies it (editorial)",
    ),
    "additionalCode": ("code", (("when", "string"),), "A code to consider adding, and when (editorial)"),
    "procedure": ("code", (), "A related procedure code (codes only) (editorial)"),
    "faq": ("string", (("answer", "string"),), "A frequently asked question (value) and its answer (editorial)"),
    "scribe": ("string", (), "What a clinical note or scribe should capture (editorial)"),
    "source": ("string", (("url", "string"),), "A public source of the editorial guidance: title and URL"),
    "verified": (
        "dateTime",
        (("release", "string"), ("guidelines", "string")),
        "When the editorial guidance was last verified, and against what: the ICD-10-CM release (release, as "
        "this server names releases, such as 2026-04) and the Official Guidelines year (guidelines, such as FY2026)",
    ),
    "riskAdjustment": (
        "code",
        (
            ("summary", "string"),
            ("documentation", "string"),
            ("pitfall", "string"),
            ("source", "string"),
            ("category", "code"),
            ("verified", "dateTime"),
        ),
        "What supports the diagnosis in a CMS risk adjustment audit: general (every code that maps to a category of "
        "any model) or the family of its CMS-HCC V28 categories (value; description: its title), with what the "
        "record must show (documentation), common failures (pitfall), the sources (title <url>), the family's V28 "
        "categories and when it was verified (docs/hcc.md)",
    ),
    "sibling": ("code", (), "Another code under the same parent"),
    "firstListed": (
        "code",
        (("basis", "string"),),
        "Where the code may stand on a claim: never (never principal or first-listed) or only (only principal "
        "or first-listed); absent when either is allowed. Basis: the guideline section",
    ),
    "rule": (
        "string",
        (("rule", "code"), ("basis", "string"), ("level", "code"), ("source", "code"), ("code", "string")),
        "Rule-derived guidance from the tabular conventions and the Official Guidelines: the rule, what it "
        "rests on, where it comes from and the codes it points to",
    ),
}


def editorial_entries(record: dict, scope: tuple[str, str | None] | None = None) -> list[dict]:
    """Property entries for one editorial record (as stored: suggested codes carry their display); ``scope``:
    the code above whose entry this is, for a code that inherits it."""
    entries = [property_param("summary", record["summary"], "String")]
    if scope is not None:
        entries.append(property_param("scope", scope[0], "Code", scope[1]))
    if "region" in record:
        entries.append(property_param("region", record["region"], "String"))
    entries += [property_param("documentation", text, "String") for text in record["documentation"]]
    entries += [property_param("pitfall", text, "String") for text in record["pitfalls"]]
    entries += [property_param("clinicalContext", text, "String") for text in record.get("clinical_context", ())]
    for field, code in (("more_specific", "moreSpecific"), ("additional_codes", "additionalCode")):
        entries += [
            property_param(code, s["code"], "Code", s.get("display"), [("when", s["when"], "String")])
            for s in record.get(field, ())
        ]
    entries += [property_param("procedure", code, "Code") for code in record.get("procedures", ())]
    entries += [
        property_param("faq", q["question"], "String", None, [("answer", q["answer"], "String")])
        for q in record.get("faq", ())
    ]
    if "scribe" in record:
        entries.append(property_param("scribe", record["scribe"], "String"))
    for source in record["sources"]:
        url = [("url", source["url"], "String")] if source.get("url") else []
        entries.append(property_param("source", source["title"], "String", None, url))
    # What the date was checked against (a store built before files named it has the date alone).
    against = record.get("verified_against", {})
    checked = [(name, against[name], "String") for name in ("release", "guidelines") if name in against]
    entries.append(property_param("verified", record["verified"], "DateTime", None, checked))
    return entries


def extension_items(entries: list[dict]) -> list[dict]:
    """The sub-extensions of the guidance extension, one per guidance property entry."""
    items = []
    for entry in entries:
        code_part, value_part, *rest = entry["part"]
        ((value_key, value),) = ((k, v) for k, v in value_part.items() if k != "name")
        if not rest:
            items.append({"url": code_part["valueCode"], value_key: value})
            continue
        nested = [{"url": "value", value_key: value}]
        for extra in rest:
            if extra["name"] == "description":
                nested.append({"url": "description", "valueString": extra["valueString"]})
            else:
                name_part, sub_value = extra["part"]
                ((sub_key, sub),) = ((k, v) for k, v in sub_value.items() if k != "name")
                nested.append({"url": name_part["valueCode"], sub_key: sub})
        items.append({"url": code_part["valueCode"], "extension": nested})
    return items


def guidance_label(code: str | None) -> str:
    return f"Coding guidance for {code}" if code else "Coding guidance"


def guidance_parameter(code: str | None, extension: bytes) -> bytes:
    """The ``guidance`` output parameter carrying the guidance extension, serialized.

    Parameters itself (a Resource) cannot carry extensions; its parameter elements can."""
    return (
        b'{"name":"guidance","valueString":'
        + orjson.dumps(guidance_label(code))
        + b',"extension":[{"url":"'
        + GUIDANCE_EXTENSION.encode()
        + b'","extension":['
        + extension
        + b"]}]}"
    )


def supplement_resource(editorial: dict[str, dict], version: str) -> dict:
    """The CodeSystem supplement declaring the guidance properties, with the editorial entries."""
    concepts = []
    for code, record in sorted(editorial.items()):
        properties = []
        for entry in editorial_entries(record):
            code_part, value_part = entry["part"][:2]
            properties.append({"code": code_part["valueCode"], **{k: v for k, v in value_part.items() if k != "name"}})
        concepts.append({"code": code, "property": properties})
    resource = {
        "resourceType": "CodeSystem",
        "id": "icd10cm-guidance",
        "url": SUPPLEMENT_URL,
        "version": version,
        "name": "ICD10CMCodingGuidance",
        "title": "ICD-10-CM coding and documentation guidance",
        "status": "active",
        "experimental": False,
        "publisher": "icd10cm-tx",
        "description": "Documentation and coding guidance for ICD-10-CM codes: editorial entries written from "
        "public sources (CDC tabular, ICD-10-CM Official Guidelines, CMS), and rule-derived items "
        "computed for every code by $lookup. Each editorial entry cites its sources and the date "
        "it was verified.",
        "caseSensitive": True,
        "content": "supplement",
        "supplements": ICD10CM,
        "count": len(concepts),
        "property": [
            {"code": code, "uri": f"{SUPPLEMENT_URL}#{code}", "description": description, "type": kind}
            for code, (kind, _, description) in PROPERTIES.items()
        ],
    }
    if concepts:
        resource["concept"] = concepts
    return resource


def structure_definition() -> dict:
    """The StructureDefinition of the guidance extension (a complex extension on Parameters)."""
    elements = [
        {
            "id": "Extension",
            "path": "Extension",
            "short": "ICD-10-CM coding guidance",
            "definition": "Documentation and coding guidance for the code of a $lookup or $validate-code answer, "
            "on the output parameter named guidance: each sub-extension is one guidance item, named "
            "like the supplement's properties.",
            "min": 0,
            "max": "1",
        },
    ]
    for code, (kind, subproperties, description) in PROPERTIES.items():
        slice_id = f"Extension.extension:{code}"
        elements.append(
            {
                "id": slice_id,
                "path": "Extension.extension",
                "sliceName": code,
                "short": description,
                "definition": description,
                "min": 0,
                "max": "*",
            }
        )
        elements.append({"id": f"{slice_id}.url", "path": "Extension.extension.url", "fixedUri": code})
        if not subproperties:
            elements.append(
                {
                    "id": f"{slice_id}.value[x]",
                    "path": "Extension.extension.value[x]",
                    "min": 1,
                    "type": [{"code": kind}],
                }
            )
            continue
        for sub, sub_kind in (("value", kind), ("description", "string"), *subproperties):
            sub_id = f"{slice_id}.extension:{sub}"
            elements.append(
                {
                    "id": sub_id,
                    "path": "Extension.extension.extension",
                    "sliceName": sub,
                    "definition": f"{sub} of the {code} item",
                    "min": 0,
                    "max": "*" if sub in ("code",) else "1",
                }
            )
            elements.append({"id": f"{sub_id}.url", "path": "Extension.extension.extension.url", "fixedUri": sub})
            elements.append(
                {
                    "id": f"{sub_id}.value[x]",
                    "path": "Extension.extension.extension.value[x]",
                    "type": [{"code": sub_kind}],
                }
            )
    elements.append({"id": "Extension.url", "path": "Extension.url", "fixedUri": GUIDANCE_EXTENSION})
    elements.append({"id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0"})
    return {
        "resourceType": "StructureDefinition",
        "id": "icd10cm-guidance",
        "url": GUIDANCE_EXTENSION,
        "name": "ICD10CMGuidance",
        "title": "ICD-10-CM coding guidance",
        "status": "active",
        "fhirVersion": "4.0.1",
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": "Parameters.parameter"}],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {"element": elements},
    }
