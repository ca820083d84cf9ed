"""$validate-code for ICD-10-CM codings, with the issues the HL7 terminology ecosystem expects.

Messages follow the wording other FHIR terminology servers use, so validators that match on
them keep working; ICD-10-CM specifics (header codes, missing placeholder X) come as extra issues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .codes import ICD10CM, canonical_system, normalize_code, placeholder_candidates, seventh_characters
from .model import Coding, Issue, ValidationResult
from .releases import Releases, UnknownVersion
from .store.reader import ConceptRow, Release

if TYPE_CHECKING:
    from .guidance.builder import GuidanceBuilder
    from .guidance.rules import Rule

_MAX_LISTED = 12


class ValueSetMembership(Protocol):
    label: str  # url|version, for messages

    def missing(self, release: Release, code: str) -> list[str]:
        """Why ``code`` is not in the value set ([] when it is)."""


def _path(base: str, element: str) -> str:
    return f"{base}.{element}" if base else element


def header_advice(concept: ConceptRow) -> str:
    """What to report instead of a header code: its 7th characters or its billable children."""
    if concept.seventh:
        return f"it needs a 7th character: {seventh_characters(concept.display, concept.children, concept.seventh)}"
    children = [code for code, _ in concept.children]
    listed = ", ".join(children[:_MAX_LISTED]) + (", ..." if len(children) > _MAX_LISTED else "")
    return f"choose a more specific code below it: {listed}"


def _guidance_issues(rules: list[Rule], expression: str) -> list[Issue]:
    """Findings of the rule-derived guidance worth an issue: unspecified and manifestation codes."""
    issues = []
    for rule in rules:
        if rule.rule in ("unspecified", "laterality", "manifestation"):
            text = rule.text + (f" Candidates: {', '.join(rule.codes)}." if rule.codes else "")
            severity = "warning" if rule.rule == "manifestation" else "information"
            issues.append(Issue(severity, "business-rule", text, "code-comment", expression))
    return issues


def validate_coding(
    releases: Releases,
    coding: Coding,
    *,
    display_language: str | None = None,
    abstract: bool | None = None,
    date: str | None = None,
    base: str = "",
    guidance: dict[str, GuidanceBuilder] | None = None,
    mode: str = "all",
    value_set: ValueSetMembership | None = None,
) -> ValidationResult:
    system = canonical_system(coding.system)
    result = ValidationResult(False, code=coding.code, system=system)
    if not system:
        result.issues.append(
            Issue(
                "error",
                "invalid",
                "The coding has no system, so the code cannot be validated",
                "invalid-data",
                _path(base, "system"),
            )
        )
        return result
    if system != ICD10CM:
        result.issues.append(
            Issue(
                "error",
                "not-found",
                f"A definition for CodeSystem '{system}' could not be found, so the code cannot be validated",
                "not-found",
                _path(base, "system"),
            )
        )
        result.unknown_systems.append(system)
        return result
    try:
        release = releases.resolve(coding.version, date)
    except UnknownVersion as error:
        result.issues.append(
            Issue(
                "error",
                "not-found",
                f"A definition for CodeSystem '{ICD10CM}' version '{error.version}' could not be found, so the "
                f"code cannot be validated. Valid versions: {releases.versions_text}",
                "not-found",
                _path(base, "version"),
            )
        )
        result.unknown_systems.append(f"{ICD10CM}|{error.version}")
        return result
    result.version = release.version
    if not coding.code or not coding.code.strip():
        result.issues.append(
            Issue("error", "invalid", "No code was provided to validate", "invalid-code", _path(base, "code"))
        )
        return result
    code = normalize_code(coding.code)
    concept = release.concept(code)
    if concept is None:
        text = f"Unknown code '{coding.code}' in the CodeSystem '{ICD10CM}' version '{release.version}'"
        result.issues.append(Issue("error", "code-invalid", text, "invalid-code", _path(base, "code")))
        suggestions = [c for c in placeholder_candidates(code) if release.concept(c)]
        if suggestions:
            result.issues.append(
                Issue(
                    "information",
                    "code-invalid",
                    f"Did you mean {' or '.join(suggestions)}? Codes that take a 7th character are padded "
                    f"with the placeholder X to six characters first.",
                    "code-comment",
                    _path(base, "code"),
                )
            )
        return result

    result.result = True
    result.display = concept.display
    if code != coding.code:
        result.normalized_code = code
        result.issues.append(
            Issue(
                "warning",
                "business-rule",
                f"The code '{coding.code}' is not written as ICD-10-CM writes it; it was read as '{code}'",
                "code-rule",
                _path(base, "code"),
            )
        )
    if not concept.billable and concept.seventh:
        # Guideline I.A.5: a code that lacks its required 7th character is invalid.
        result.result = False
        result.issues.append(
            Issue(
                "error",
                "business-rule",
                f"'{code}' is not complete without its 7th character: {header_advice(concept)}",
                "code-rule",
                _path(base, "code"),
            )
        )
    elif not concept.billable:
        advice = f"'{code}' is a header code, not valid for HIPAA transactions (not billable): {header_advice(concept)}"
        if abstract is False:
            result.result = False
            result.issues.append(
                Issue(
                    "error",
                    "business-rule",
                    f"{advice}. Abstract (header) codes are not allowed here",
                    "code-rule",
                    _path(base, "code"),
                )
            )
        else:
            result.issues.append(Issue("warning", "business-rule", advice, "code-rule", _path(base, "code")))
    if coding.display is not None and " ".join(coding.display.split()) != concept.display:
        result.result = False
        language = display_language or "--"
        result.issues.append(
            Issue(
                "error",
                "invalid",
                f"Wrong Display Name '{coding.display}' for {ICD10CM}#{code}. Valid display is "
                f"'{concept.display}' (for the language(s) '{language}')",
                "invalid-display",
                _path(base, "display"),
            )
        )
    if value_set is not None and result.result:
        reasons = value_set.missing(release, code)
        if reasons:
            result.result = False
            result.issues.append(
                Issue(
                    "error",
                    "code-invalid",
                    f"The provided code '{ICD10CM}#{code}' was not found in the value set '{value_set.label}'",
                    "not-in-vs",
                    _path(base, "code"),
                )
            )
            result.issues.append(
                Issue(
                    "information",
                    "business-rule",
                    f"'{code}' ({concept.display}) is a code of ICD-10-CM {release.version}, but not of this value set: "
                    + "; ".join(reasons),
                    "code-comment",
                    _path(base, "code"),
                )
            )
    if guidance is not None and mode != "none":
        result.guidance = guidance[release.version].build(concept, mode)
        result.issues += _guidance_issues(result.guidance.code_rules, _path(base, "code"))
    return result


def validate_codeable_concept(releases: Releases, codings: list[Coding], **options) -> ValidationResult:
    """Valid when at least one coding is a valid ICD-10-CM code; every coding's issues are kept."""
    results = [
        validate_coding(releases, coding, base=f"CodeableConcept.coding[{i}]", **options)
        for i, coding in enumerate(codings)
    ]
    if not results:
        return ValidationResult(
            False,
            issues=[
                Issue(
                    "error", "invalid", "No coding was provided to validate", "invalid-code", "CodeableConcept.coding"
                )
            ],
        )
    chosen = next((r for r in results if r.result), None) or next(
        (r for r in results if r.system == ICD10CM), results[0]
    )
    combined = ValidationResult(
        chosen.result,
        chosen.code,
        chosen.system,
        chosen.version,
        chosen.display,
        chosen.normalized_code,
        guidance=chosen.guidance,
    )
    for result in results:
        # Errors on other codings do not make a concept invalid when one coding is valid.
        for issue in result.issues:
            if combined.result and issue.severity == "error" and result is not chosen:
                issue = Issue("warning", issue.code, issue.text, issue.tx_code, issue.expression)
            combined.issues.append(issue)
        combined.unknown_systems += result.unknown_systems
    return combined
