"""Engine results -> FHIR Parameters, as dicts or, where pre-rendered bytes join in, as JSON bytes
(never through fhir.resources on the request path)."""

from __future__ import annotations

import re

import orjson

from ..fhir import xml as fhir_xml
from ..icd10cm.codes import ICD10CM, NAME
from ..icd10cm.guidance.fhir import GUIDANCE_EXTENSION, guidance_label, guidance_parameter
from ..icd10cm.model import CodeableConcept, Coding, LookupResult, ValidationResult
from .outcome import issue, operation_outcome

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
                "resource": operation_outcome(
                    [issue(i.severity, i.code, i.text, i.tx_code, i.expression) for i in result.issues]
                ),
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
