"""The read-only terminology engine: plain arguments in, plain results out (no Flask here)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest, NotFound
from ..fhir.messages import message
from ..fhir.parameters import serialize
from .codes import ICD10CM, canonical_system, normalize_code
from .compose import Compiled, compile_compose, unmet_filters
from .diagnoses import DiagnosisChecker
from .expand import Expansion
from .expand import expand as expand_codes
from .guidance.builder import GuidanceBuilder
from .history import History, explain_absence, history_entries
from .lookup import LookupRenderer
from .lookup import lookup as lookup_concept
from .model import CodeableConcept, Coding, Issue, LookupResult, ValidationResult
from .releases import Releases
from .store.reader import open_store
from .validate import validate_codeable_concept, validate_coding
from .valuesets import ValueSets


class Icd10cm:
    def __init__(self, releases: Releases):
        self.releases = releases
        self._renderers = {release.version: LookupRenderer(release) for release in releases}
        self._guidance = {release.version: GuidanceBuilder(release) for release in releases}
        self.valuesets = ValueSets(releases.default.valuesets())
        self.history = History(list(releases))
        self._checkers: dict[str, DiagnosisChecker] = {}

    @classmethod
    def from_store(cls, directory: Path, default_version: str | None = None, today: dt.date | None = None) -> Icd10cm:
        return cls(Releases(open_store(directory), default_version, today))

    def lookup(
        self,
        system: str | None,
        code: str | None,
        *,
        version: str | None = None,
        date: str | None = None,
        properties: list[str] | None = None,
        guidance: str = "all",
    ) -> LookupResult:
        if not code or not code.strip():
            raise InvalidRequest("$lookup needs a code (code and system, or coding)", expression="code")
        canonical = canonical_system(system)
        if not canonical:
            raise InvalidRequest("$lookup needs the system of the code", expression="system")
        if canonical != ICD10CM:
            raise NotFound(
                message("UNKNOWN_CODESYSTEM_LOOKUP", system),
                expression="system",
            )
        release = self.releases.resolve(version, date)
        normalized = normalize_code(code)
        concept = release.concept(normalized)
        if concept is None:
            absence = explain_absence(self.history, release, normalized, self.releases.day_of(date))
            text = (
                absence.text(normalized, release.version, date)
                if absence
                else message("Unknown_Code_in_Version", code, ICD10CM, release.version)
            )
            raise NotFound(text, expression="code", tx_code="invalid-code")
        wanted = frozenset(properties) if properties else None
        result = lookup_concept(self._renderers[release.version], concept, wanted)
        changes = self.history.of(concept.code)
        if changes and (wanted is None or "*" in wanted or "change" in wanted):
            result.pieces.append(serialize(history_entries(changes)))
        stale = self.releases.stale(release, version, date)
        if stale:
            result.issues.append(Issue("warning", "business-rule", stale, "status-check"))
        builder = self._guidance[release.version]
        result.guidance = builder.build(concept, guidance)
        if wanted is not None and "*" not in wanted:
            result.guidance = builder.select(result.guidance, wanted)
        if normalized != code:
            result.normalized_from = code
        return result

    def _concept(self, release, code: str | None, name: str):
        concept = release.concept(normalize_code(code or ""))
        if concept is None:
            raise NotFound(
                message("Unknown_Code_in_Version", code, ICD10CM, release.version),
                expression=name,
                tx_code="invalid-code",
            )
        return concept

    def diagnosis_checker(self, release) -> DiagnosisChecker:
        """The release's checker of diagnosis lists (it keeps the notes that apply to each code)."""
        if release.version not in self._checkers:
            self._checkers[release.version] = DiagnosisChecker(release, self._guidance[release.version])
        return self._checkers[release.version]

    @staticmethod
    def ancestors(release):
        def ancestors(code: str) -> list[str]:
            concept = release.concept(code)
            return concept.ancestors if concept else []

        return ancestors

    def compile(self, value_set: dict, release) -> Compiled:
        return compile_compose(
            value_set.get("compose") or {},
            self.ancestors(release),
            resolve=lambda url: self.valuesets.get(url).get("compose") or {},
        )

    def subsumes(
        self, system: str | None, code_a: str | None, code_b: str | None, *, version: str | None = None
    ) -> str:
        """equivalent | subsumes | subsumed-by | not-subsumed, by the tabular hierarchy (7th-character codes
        sit below their 6-character base)."""
        if canonical_system(system) != ICD10CM:
            raise NotFound(message("UNKNOWN_CODESYSTEM_SUBSUMES", system), expression="system")
        release = self.releases.resolve(version)
        a, b = self._concept(release, code_a, "codeA"), self._concept(release, code_b, "codeB")
        if a.code == b.code:
            return "equivalent"
        if a.code in b.ancestors:
            return "subsumes"
        if b.code in a.ancestors:
            return "subsumed-by"
        return "not-subsumed"

    def expand(
        self,
        value_set: dict,
        *,
        version: str | None = None,
        date: str | None = None,
        text: str | None = None,
        count: int | None = None,
        offset: int = 0,
        exclude_not_for_ui: bool = False,
        max_size: int = 1000,
    ) -> Expansion:
        release = self.releases.resolve(version, date)
        condition = self.compile(value_set, release)
        return expand_codes(
            release,
            condition,
            text=text,
            count=count,
            offset=offset,
            exclude_not_for_ui=exclude_not_for_ui,
            max_size=max_size,
        )

    def validate_in_value_set(
        self, value_set: dict, coding: Coding | None = None, codeable_concept: CodeableConcept | None = None, **options
    ) -> ValidationResult:
        """ValueSet/$validate-code: a valid ICD-10-CM code that the value set also holds."""
        return self.validate_code(coding, codeable_concept, membership=Membership(self, value_set), **options)

    def validate_code(
        self,
        coding: Coding | None = None,
        codeable_concept: CodeableConcept | None = None,
        *,
        display_language: str | None = None,
        abstract: bool | None = None,
        date: str | None = None,
        from_coding: bool = False,
        guidance: str = "all",
        membership: Membership | None = None,
    ) -> ValidationResult:
        """Validate ``code``+``system`` (or a ``coding`` when ``from_coding``) or a codeable concept.

        ``from_coding`` only changes the FHIRPath of the issues (``Coding.code`` rather than ``code``).
        """
        options: dict[str, Any] = {
            "display_language": display_language,
            "abstract": abstract,
            "date": date,
            "guidance": self._guidance,
            "mode": guidance,
            "value_set": membership,
            "history": self.history,
        }
        if codeable_concept is not None:
            return validate_codeable_concept(self.releases, codeable_concept.codings, **options)
        if coding is None:
            raise InvalidRequest(
                "$validate-code needs a code (code and url/system, coding or codeableConcept)", expression="code"
            )
        return validate_coding(self.releases, coding, base="Coding" if from_coding else "", **options)


class Membership:
    """Whether a code is in a value set, and why not (for ValueSet/$validate-code)."""

    def __init__(self, engine: Icd10cm, value_set: dict):
        self.engine, self.value_set = engine, value_set
        version = value_set.get("version")
        self.label = f"{value_set.get('url', 'the value set sent')}" + (f"|{version}" if version else "")

    def missing(self, release, code: str) -> list[str]:
        condition = self.engine.compile(self.value_set, release)

        def holds(compiled: Compiled) -> bool:
            return release.select(f"c.code = ? AND {compiled.sql}", (code, *compiled.params), limit=0)[0] > 0

        if holds(condition):
            return []
        return unmet_filters(self.value_set.get("compose") or {}, self.engine.ancestors(release), holds)
