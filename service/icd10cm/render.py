"""Engine results -> FHIR Parameters, as dicts or, where pre-rendered bytes join in, as JSON bytes
(never through fhir.resources on the request path)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import orjson

from ..fhir import xml as fhir_xml
from ..fhir.outcome import outcome
from ..fhir.r5 import CONTAINS_PROPERTY, EXPANSION_PROPERTY  # R5 expansion properties, as R4 carries them
from .codes import CANONICAL_BASE, ICD10CM, NAME
from .diagnoses import Checked
from .expand import Expansion
from .guidance.fhir import GUIDANCE_EXTENSION, guidance_label, guidance_parameter
from .model import CodeableConcept, Coding, LookupResult, ValidationResult
from .store.reader import Release

_FHIR_CODE = re.compile(r"[^\s]+( [^\s]+)*")
PREFERRED_FOR_LANGUAGE = {
    "system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
    "code": "preferredForLanguage",
    "display": "Preferred For Language",
}


def parameters(entries: list[dict]) -> dict:
    return {"resourceType": "Parameters", "parameter": entries}


class LookupAnswer:
    """A $lookup answer, written as JSON or as XML from the same pieces (most of them shared with
    other codes, so their XML is written once per process: see fhir_xml.parameters_piece)."""

    def __init__(self, result: LookupResult):
        self.result = result

    def json(self) -> bytes:
        result = self.result
        pieces = [orjson.dumps(parameters(_lookup_head(result)))[:-2]]  # without the closing "]}"
        if result.guidance:
            pieces += [result.guidance.entries, guidance_parameter(result.code, result.guidance.extension)]
        if result.pieces:
            pieces.append(result.entries)
        return b",".join(pieces) + b"]}"

    def xml(self) -> bytes:
        result = self.result
        out = [fhir_xml.DECLARATION, f'<Parameters xmlns="{fhir_xml.NAMESPACE}">']
        fhir_xml.write_parameters(out, _lookup_head(result))
        if result.guidance:
            pieces = result.guidance.pieces
            out += [fhir_xml.parameters_piece(p.entries) for p in pieces if p.entries]
            out.append(f'<parameter><extension url="{GUIDANCE_EXTENSION}">')
            out += [fhir_xml.extensions_piece(p.extension) for p in pieces if p.extension]
            out.append(
                f"</extension>{fhir_xml.element('name', 'guidance')}"
                f"{fhir_xml.element('valueString', guidance_label(result.code))}</parameter>"
            )
        out += [fhir_xml.parameters_piece(p) for p in result.pieces]
        out.append("</Parameters>")
        return "".join(out).encode()


def _lookup_head(result: LookupResult) -> list[dict]:
    """The entries built per request; the rest are pre-rendered."""
    head: list[dict] = [
        {"name": "name", "valueString": NAME},
        {"name": "version", "valueString": result.version},
        {"name": "display", "valueString": result.display},
        {"name": "code", "valueCode": result.code},
        {"name": "system", "valueUri": ICD10CM},
        {
            "name": "designation",
            "part": [
                {"name": "language", "valueCode": "en"},
                {"name": "use", "valueCoding": PREFERRED_FOR_LANGUAGE},
                {"name": "value", "valueString": result.display},
            ],
        },
    ]
    if result.normalized_from is not None:
        head.append({"name": "normalized-code", "valueCode": result.code})
    if result.issues:
        head.append({"name": "issues", "resource": outcome(result.issues)})
    return head


def _coding(coding: Coding) -> dict:
    return {
        k: v
        for k, v in (
            ("system", coding.system),
            ("version", coding.version),
            ("code", coding.code),
            ("display", coding.display),
        )
        if v
    }


def _codeable_concept(concept: CodeableConcept) -> dict:
    echoed: dict = {}
    codings = [c for c in map(_coding, concept.codings) if c]
    if codings:
        echoed["coding"] = codings
    if concept.text:
        echoed["text"] = concept.text
    return echoed


def validation_parameters(result: ValidationResult, concept: CodeableConcept | None = None) -> dict | bytes:
    entries: list[dict] = []
    if concept is not None:
        echoed = _codeable_concept(concept)
        if echoed:
            entries.append({"name": "codeableConcept", "valueCodeableConcept": echoed})
    elif result.code is not None and _FHIR_CODE.fullmatch(result.code):
        # The code as sent; a value FHIR cannot carry as a code (blank, padded) is left out.
        entries.append({"name": "code", "valueCode": result.code})
    if result.display is not None:
        entries.append({"name": "display", "valueString": result.display})
    if result.issues:
        entries.append(
            {
                "name": "issues",
                "resource": outcome(result.issues),
            }
        )
    if result.message:
        entries.append({"name": "message", "valueString": result.message})
    if result.normalized_code is not None:
        entries.append({"name": "normalized-code", "valueCode": result.normalized_code})
    entries.append({"name": "result", "valueBoolean": result.result})
    if result.system:
        entries.append({"name": "system", "valueUri": result.system})
    if result.version is not None:
        entries.append({"name": "version", "valueString": result.version})
    # As the terminology ecosystem reports them: a system nobody knows, or a version of one we know.
    entries += [
        {"name": "x-caused-by-unknown-system" if "|" in s else "x-unknown-system", "valueCanonical": s}
        for s in result.unknown_systems
    ]
    if not result.guidance:
        return parameters(entries)
    extension = guidance_parameter(result.normalized_code or result.code, result.guidance.extension)
    return orjson.dumps(parameters(entries))[:-2] + b"," + extension + b"]}"


# -- $expand ------------------------------------------------------------------------------------
# $expand parameters echoed in ValueSet.expansion.parameter when the request used them.
_ECHOED = {
    "filter": "valueString",
    "count": "valueInteger",
    "offset": "valueInteger",
    "date": "valueDateTime",
    "excludeNotForUI": "valueBoolean",
    "activeOnly": "valueBoolean",
    "displayLanguage": "valueCode",
    "valueSetVersion": "valueString",
    "includeDesignations": "valueBoolean",
    "includeDefinition": "valueBoolean",
    "excludeNested": "valueBoolean",
}
EXPANSION_PROPERTIES = ("billable", "notSelectable", "parent", "chapter", "block")


def _contained(
    code: str,
    display: str,
    billable: int,
    version: str,
    designations: list[str],
    properties: list[tuple[str, object, str]],
) -> dict:
    entry: dict = {"system": ICD10CM, "version": version, "code": code, "display": display}
    if not billable:
        entry["abstract"] = True
    if designations:
        entry["designation"] = [{"language": "en", "value": term} for term in designations]
    if properties:
        entry["extension"] = [
            {
                "url": CONTAINS_PROPERTY,
                "extension": [{"url": "code", "valueCode": name}, {"url": "value", f"value{kind}": value}],
            }
            for name, value, kind in properties
        ]
    return entry


def _properties(release: Release, code: str, billable: int, wanted: list[str]):
    concept = release.concept(code) if {"parent", "chapter", "block"} & set(wanted) else None
    values: dict[str, tuple[object, str]] = {
        "billable": (bool(billable), "Boolean"),
        "notSelectable": (not billable, "Boolean"),
    }
    if concept is not None:
        values["chapter"] = (concept.chapter, "Code")
        values["block"] = (concept.blocks[0], "Code")
        if concept.parent:
            values["parent"] = (concept.parent, "Code")
    return [(name, *values[name]) for name in wanted if name in values]


def expanded(value_set: dict, expansion: Expansion, args: dict, release: Release, warning: str | None = None) -> dict:
    """The value set with its expansion: what was used is echoed, headers are marked abstract; inclusion
    terms as designations and properties when asked for."""
    used = [{"name": name, key: args[name]} for name, key in _ECHOED.items() if args.get(name) not in (None, "")]
    used.append({"name": "used-codesystem", "valueUri": f"{ICD10CM}|{expansion.version}"})
    if expansion.searched is not None:  # what the text filter searched: lexicon, spelling, words let go
        used.append({"name": "used-filter", "valueString": expansion.searched})
    if warning:  # the release in effect is not loaded
        used.append({"name": "warning", "valueString": str(warning)})
    wanted = [p for p in args.get("property", ()) if p in EXPANSION_PROPERTIES]
    contains = [
        _contained(
            code,
            display,
            billable,
            expansion.version,
            [n["text"] for n in release.notes(code) if n["type"] == "inclusionTerm"]
            if args.get("includeDesignations")
            else [],
            _properties(release, code, billable, wanted),
        )
        for code, display, billable in expansion.contains
    ]
    dropped = ("expansion", "text") if args.get("includeDefinition") else ("compose", "expansion", "text")
    body = {k: v for k, v in value_set.items() if k not in dropped}

    body["expansion"] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "total": expansion.total,
        "offset": expansion.offset,
        "parameter": used,
    }
    if wanted:
        body["expansion"]["extension"] = [
            {"url": EXPANSION_PROPERTY, "extension": [{"url": "code", "valueCode": name}]} for name in wanted
        ]
    if contains:
        body["expansion"]["contains"] = contains
    return body


# -- $validate-diagnoses ----------------------------------------------------------------------------------
# The checks of a diagnosis list, as codes of our own (in each issue's details).
DIAGNOSIS_CHECKS = f"{CANONICAL_BASE}/CodeSystem/diagnosis-check"


def diagnoses_parameters(checked: Checked) -> dict:
    """result, version, and an OperationOutcome with one issue per finding: the check as a coding, the
    sentence as text, the basis as diagnostics, the codes involved by where they are in the request."""
    entries: list[dict] = [
        {"name": "result", "valueBoolean": checked.result},
        {"name": "version", "valueString": checked.version},
    ]
    issues = []
    for finding in checked.findings:
        issue: dict = {
            "severity": finding.severity,
            "code": "code-invalid" if finding.check == "invalid-code" else "business-rule",
            "details": {"coding": [{"system": DIAGNOSIS_CHECKS, "code": finding.check}], "text": finding.text},
            "diagnostics": finding.basis,
        }
        if finding.positions:
            issue["expression"] = [checked.paths[p - 1] for p in finding.positions]
        issues.append(issue)
    if issues:
        entries.append({"name": "issues", "resource": {"resourceType": "OperationOutcome", "issue": issues}})
    return parameters(entries)
