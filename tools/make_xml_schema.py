"""Write service/fhir/xml_schema.json: the element order and types FHIR XML needs, read once
from the fhir.resources R4B models so that the request path never imports them.

    python tools/make_xml_schema.py          # rewrite the file
    python tools/make_xml_schema.py --check  # exit 1 when the file is not what this would write

For each type: ``r`` (a resource: its id is an element; otherwise an attribute) and ``e``, its
elements in document order as [name, type, repeats], where type is a complex type's name,
"Resource" (any resource, wrapped in an element named after its type), "xhtml", or one of the
primitive kinds "boolean", "integer", "decimal" and "string".
"""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path

from fhir.resources.R4B import get_fhir_model_class

OUTPUT = Path(__file__).resolve().parent.parent / "service" / "fhir" / "xml_schema.json"
# What a terminology server reads and writes; datatypes and backbone elements follow from these.
RESOURCES = (
    "Parameters",
    "OperationOutcome",
    "CodeSystem",
    "ValueSet",
    "ConceptMap",
    "Bundle",
    "CapabilityStatement",
    "TerminologyCapabilities",
    "StructureDefinition",
    "NamingSystem",
    "OperationDefinition",
)
_INTEGERS = {"Integer", "PositiveInt", "UnsignedInt", "Integer64"}


def _kind(annotation) -> tuple[str, bool]:
    """(type, repeats) of a field annotation."""
    repeats = False
    while True:
        origin = typing.get_origin(annotation)
        arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (typing.Union, __import__("types").UnionType):
            annotation = arguments[0]
        elif origin in (list, list):
            repeats, annotation = True, arguments[0]
        elif origin is typing.Annotated:
            marker = type(typing.get_args(annotation)[1]).__name__
            return (
                "integer"
                if marker in _INTEGERS
                else "decimal"
                if marker == "Decimal"
                else "xhtml"
                if marker == "Xhtml"
                else "boolean"
                if marker == "Boolean"
                else "string"
            ), repeats
        elif annotation is bool:
            return "boolean", repeats
        else:
            name = getattr(annotation, "__name__", str(annotation))
            return name.removesuffix("Type"), repeats


def build() -> dict:
    types: dict = {}
    pending = list(RESOURCES)
    while pending:
        name = pending.pop()
        if name in types or name == "Resource":
            continue
        model = get_fhir_model_class(name)
        elements = []
        for element in model.elements_sequence():
            kind, repeats = _kind(model.model_fields[element].annotation)
            elements.append([element, kind, int(repeats)])
            if kind not in ("boolean", "integer", "decimal", "string", "xhtml", "Resource"):
                pending.append(kind)
        types[name] = {"r": int(name in RESOURCES), "e": elements}
    return dict(sorted(types.items()))


def main() -> int:
    text = json.dumps(build(), separators=(",", ":"), sort_keys=False) + "\n"
    if "--check" in sys.argv:
        return 0 if OUTPUT.read_text() == text else 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
