"""$validate-code for ICD-10-CM codings, with the issues the HL7 terminology ecosystem expects.

Messages follow the wording other FHIR terminology servers use, so validators that match on
them keep working; ICD-10-CM specifics (header codes, missing placeholder X) come as extra issues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..fhir.messages import message, plural
from .codes import CODE_SHAPE, ICD10CM, canonical_system, normalize_code, placeholder_candidates, seventh_characters
from .guidance.sequencing import ONLY_RULES, PLACEMENT_RULES
from .history import ADDED, History, explain_absence, uncertain
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
    """Findings of the rule-derived guidance worth an issue: where the code may stand on a claim (a code that
    is never first-listed: a warning), unspecified codes and laterality (information)."""
    issues = []
    for rule in rules:
        if rule.rule in PLACEMENT_RULES or rule.rule in ("unspecified", "laterality"):
            text = message(
                "ICD10CM_GUIDANCE", rule.text + (f" Candidates: {', '.join(rule.codes)}." if rule.codes else "")
            )
            never = rule.rule in PLACEMENT_RULES and rule.rule not in ONLY_RULES
            issues.append(
                Issue("warning" if never else "information", "business-rule", text, "code-comment", expression)
            )
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
    history: History | None = None,
) -> ValidationResult:
    result = _validate_coding(
        releases, coding, display_language, abstract, date, base, guidance, mode, value_set, history
    )
    if result.version is None:
        return result
    release, day = releases.by_version[result.version], releases.day_of(date)
    stale = releases.stale(release, coding.version, date)
    if stale:
        result.issues.append(Issue("warning", "business-rule", stale, "status-check", _path(base, "version")))
        code = normalize_code(coding.code or "")
        for change in uncertain(history, release, code, day) if history else ():
            if change.kind == ADDED:  # a code the release lacks: its absence says so already
                continue
            text = message("ICD10CM_STATUS_UNCERTAIN", code, change.text(), day)
            result.issues.append(Issue("warning", "business-rule", text, "status-check", _path(base, "code")))
    elif coding.version and date and not release.effective <= day <= release.ends:
        # A version named wins over the date, but the date says another release was in effect.
        text = message("ICD10CM_VERSION_NOT_IN_EFFECT", release.version, release.effective, release.ends, day)
        result.issues.append(Issue("information", "business-rule", text, "status-check", _path(base, "version")))
    return result


def _validate_coding(
    releases: Releases,
    coding: Coding,
    display_language: str | None,
    abstract: bool | None,
    date: str | None,
    base: str,
    guidance: dict[str, GuidanceBuilder] | None,
    mode: str,
    value_set: ValueSetMembership | None,
    history: History | None,
) -> ValidationResult:
    system = canonical_system(coding.system)
    result = ValidationResult(False, code=coding.code, system=system)
    if not system:
        result.issues.append(
            Issue(
                "error",
                "invalid",
                message("NO_SYSTEM_TO_VALIDATE"),
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
                message("UNKNOWN_CODESYSTEM", system),
                "not-found",
                _path(base, "system"),
            )
        )
        result.unknown_systems.append(system)
        return result
    try:
        release = releases.resolve(coding.version, date)
    except UnknownVersion as error:
        if error.date:  # a date before every loaded release: the system and its versions are known
            result.issues.append(Issue("error", "not-found", error.message, "not-found", "date"))
            return result
        result.issues.append(
            Issue(
                "error",
                "not-found",
                message("UNKNOWN_CODESYSTEM_VERSION", ICD10CM, error.version, releases.versions_text),
                "not-found",
                _path(base, "version"),
            )
        )
        result.unknown_systems.append(f"{ICD10CM}|{error.version}")
        return result
    result.version = release.version
    if not coding.code or not coding.code.strip():
        result.issues.append(
            Issue("error", "invalid", message("NO_CODE_TO_VALIDATE"), "invalid-code", _path(base, "code"))
        )
        return result
    code = normalize_code(coding.code)
    concept = release.concept(code)
    if concept is None:
        absence = explain_absence(history, release, code, releases.day_of(date)) if history else None
        if absence:
            text = absence.issue_text(code, release.version, date)
        else:
            text = message("Unknown_Code_in_Version", coding.code, ICD10CM, release.version)
        result.issues.append(Issue("error", "code-invalid", text, "invalid-code", _path(base, "code")))
        replaced = absence.replaced_by(release.version) if absence else None
        if replaced:
            result.issues.append(Issue("information", "code-invalid", replaced, "code-comment", _path(base, "code")))
        suggestions = [c for c in placeholder_candidates(code) if release.concept(c)]
        if suggestions:
            result.issues.append(
                Issue(
                    "information",
                    "code-invalid",
                    message("ICD10CM_PLACEHOLDER_X", " or ".join(suggestions)),
                    "code-comment",
                    _path(base, "code"),
                )
            )
        elif not replaced and history is not None and len(history.releases) == 1 and CODE_SHAPE.fullmatch(code):
            # A well-formed code that this release lacks may be one of another release: say how to know.
            alone = message("ICD10CM_NO_HISTORY", release.version, code)
            result.issues.append(Issue("information", "code-invalid", alone, "code-comment", _path(base, "code")))
        return result

    result.result = True
    result.display = concept.display
    if code != coding.code:
        result.normalized_code = code
        result.issues.append(
            Issue(
                "warning",
                "business-rule",
                message("ICD10CM_CODE_NORMALIZED", coding.code, code),
                "code-rule",
                _path(base, "code"),
            )
        )
    if not concept.billable and concept.seventh:
        # Guidelines I.A.2 and I.B.2: a code that lacks its required 7th character is invalid.
        result.result = False
        result.issues.append(
            Issue(
                "error",
                "business-rule",
                message("ICD10CM_NEEDS_7TH_CHARACTER", code, header_advice(concept)),
                "code-rule",
                _path(base, "code"),
            )
        )
    elif not concept.billable:
        advice = header_advice(concept)
        if abstract is False:
            result.result = False
            result.issues.append(
                Issue(
                    "error",
                    "business-rule",
                    message("ICD10CM_HEADER_CODE_NOT_ALLOWED", code, advice),
                    "code-rule",
                    _path(base, "code"),
                )
            )
        else:
            text = message("ICD10CM_HEADER_CODE", code, advice)
            result.issues.append(Issue("warning", "business-rule", text, "code-rule", _path(base, "code")))
    if coding.display is not None and " ".join(coding.display.split()) != concept.display:
        result.result = False
        language = display_language or "--"
        result.issues.append(
            Issue(
                "error",
                "invalid",
                plural(
                    "Display_Name_for__should_be_one_of__instead_of",
                    1,
                    ICD10CM,
                    code,
                    f"'{concept.display}'",
                    coding.display,
                    language,
                ),
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
                    plural(
                        "None_of_the_provided_codes_are_in_the_value_set", 1, value_set.label, f"'{ICD10CM}#{code}'"
                    ),
                    "not-in-vs",
                    _path(base, "code"),
                )
            )
            result.issues.append(
                Issue(
                    "information",
                    "business-rule",
                    message(
                        "ICD10CM_NOT_IN_VALUE_SET_BECAUSE", code, concept.display, release.version, "; ".join(reasons)
                    ),
                    "code-comment",
                    _path(base, "code"),
                )
            )
    for change in history.of(code) if history else ():
        if change.kind != ADDED:  # that a code is new says nothing about how to use it
            text = message("ICD10CM_CODE_CHANGED", code, change.text())
            result.issues.append(Issue("information", "business-rule", text, "code-comment", _path(base, "code")))
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
                Issue("error", "invalid", message("NO_CODING_TO_VALIDATE"), "invalid-code", "CodeableConcept.coding")
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
