"""What CodeSystem/$validate-code and ValueSet/$validate-code share: from bound parameters to
the engine call and the answer."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import InvalidRequest
from ..icd10cm.codes import canonical_system
from ..icd10cm.model import Coding, ValidationResult
from .render import validation_parameters


def answer(
    validate: Callable[..., ValidationResult], args: dict, system: str | None, version: str | None, system_name: str
) -> dict | bytes:
    """Validate the codeableConcept, the coding, or code+system of a request (``system_name`` is the
    parameter that names the code system: url for a CodeSystem, system for a ValueSet)."""
    options = {
        "display_language": args.get("displayLanguage"),
        "abstract": args.get("abstract"),
        "date": args.get("date"),
        "guidance": args.get("guidance", "all"),
    }
    concept = args.get("codeableConcept")
    if concept is not None:
        return validation_parameters(validate(codeable_concept=concept, **options), concept)
    coding = args.get("coding")
    if coding is not None:
        coding = Coding(
            canonical_system(coding.system) or system, coding.code, coding.version or version, coding.display
        )
        if coding.system is None:
            raise InvalidRequest(
                f"$validate-code needs the system of the coding (or {system_name})", expression="Coding.system"
            )
        return validation_parameters(validate(coding, from_coding=True, **options))
    if system is None:
        raise InvalidRequest(f"$validate-code needs {system_name} (the code system) and code", expression=system_name)
    coding = Coding(system, args.get("code"), version, args.get("display"))
    return validation_parameters(validate(coding, **options))
