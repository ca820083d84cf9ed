"""What checking one coding found (``Checked``), shared by the pieces of $validate-code."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..fhir.messages import Message
from ..fhir.outcome import Issue
from .codesystem import CodeSystem, Concept

STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"


@dataclass
class Checked:
    """What checking one coding found."""

    coding: dict
    path: str  # "" for code/system/display parameters, else "Coding" / "CodeableConcept.coding[i]"
    issues: list[Issue] = field(default_factory=list)
    cs: CodeSystem | None = None
    concept: Concept | None = None
    outcome: bool | None = False  # in the value set (code system): True, False, or None = undecidable
    unknowns: list[str] = field(default_factory=list)  # unknown "system" / "system|version"
    version: str | None = None
    include_concept: dict | None = None  # the value set's own entry for the code, if it lists codes
    answered_by: str | None = None  # the upstream server that checked the code, if one did
    remote_display: str | None = None

    def at(self, element: str) -> str:
        return f"{self.path}.{element}" if self.path else element

    def add(self, severity: str, code: str, text: str, tx_code: str | None, element: str | None) -> None:
        """An issue on ``element`` of the coding (None: on the coding itself, ``code`` in code mode)."""
        expression = self.at(element) if element else (self.path or "code")
        if any(i.text == text and i.severity == severity for i in self.issues):
            return
        self.issues.append(Issue(severity, code, text, tx_code, expression))

    def remember_unknown(self, canonical: str) -> None:
        if canonical not in self.unknowns:
            self.unknowns.append(canonical)

    @property
    def failed(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


def rekey(text: str, key: str) -> Message:
    """A reworded message that keeps its message id."""
    out = Message(text)
    out.key = key
    return out
