"""Plain results of the engine; the HTTP layer turns them into FHIR dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..fhir.outcome import Issue  # the one issue shape; results carry it

if TYPE_CHECKING:
    from .guidance.builder import Guidance


@dataclass(slots=True)
class LookupResult:
    code: str
    display: str
    version: str
    # Serialized FHIR Parameters.parameter entries (designations and properties), in pieces of
    # comma-separated entries: most pieces are shared with other codes (kept per process).
    pieces: list[bytes]
    normalized_from: str | None = None  # the code as sent, when it was normalized
    guidance: Guidance | None = None
    issues: list[Issue] = field(default_factory=list)  # a stale release, say

    @property
    def entries(self) -> bytes:
        return b",".join(self.pieces)


@dataclass(slots=True)
class Coding:
    system: str | None = None
    code: str | None = None
    version: str | None = None
    display: str | None = None


@dataclass(slots=True)
class CodeableConcept:
    codings: list[Coding]
    text: str | None = None


@dataclass(slots=True)
class ValidationResult:
    result: bool
    code: str | None = None  # as sent
    system: str | None = None
    version: str | None = None
    display: str | None = None
    normalized_code: str | None = None
    issues: list[Issue] = field(default_factory=list)
    unknown_systems: list[str] = field(
        default_factory=list
    )  # x-unknown-system, or x-caused-by-unknown-system (system|version)
    guidance: Guidance | None = None

    @property
    def message(self) -> str | None:
        wanted = ("error",) if not self.result else ("warning", "information")
        texts = [i.text for i in self.issues if i.severity in wanted] or [i.text for i in self.issues]
        return "; ".join(texts) or None
