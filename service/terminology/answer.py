"""The $validate-code answer: result, message, code, system, version, display and the issues, for a code,
a Coding or a CodeableConcept."""

from __future__ import annotations

from ..fhir.outcome import Issue
from .checked import Checked, ValidatorBase
from .render import display_for

# Non-error issues whose text still belongs in the answer's ``message``.
_MESSAGE_WARNINGS = {
    "INACTIVE_CONCEPT_FOUND",
    "DEPRECATED_CONCEPT_FOUND",
    "Coding_has_no_system__cannot_validate",
    "Display_Name_for__should_be_one_of__instead_of",
    "Display_Name_WS_for__should_be_one_of__instead_of",
    "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK",
    "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR",
}


class Answers(ValidatorBase):
    """The answer from what was checked. (Mixed into ``Validator``.)"""

    # -- answers ----------------------------------------------------------------------------------
    def _describe(self, checked: Checked, out: list[dict]) -> None:
        coding = checked.coding
        if coding.get("code") is not None:
            out.append({"name": "code", "valueCode": coding["code"]})
            if checked.concept is not None and checked.concept.code != coding["code"]:
                out.append({"name": "normalized-code", "valueCode": checked.concept.code})
        if coding.get("system") is not None:
            out.append({"name": "system", "valueUri": coding["system"]})
        version = checked.version or coding.get("version")
        if version:
            out.append({"name": "version", "valueString": version})
        if checked.remote_display:
            out.append({"name": "display", "valueString": checked.remote_display})
        if checked.answered_by:
            out.append({"name": "answered-by", "valueUri": checked.answered_by})
        if checked.concept is not None and checked.cs is not None:  # a concept comes with its code system
            display = display_for(checked.cs, checked.concept, checked.concept.display, self.params.languages)
            if display:
                out.append({"name": "display", "valueString": display})
            cs = checked.cs
            status = cs.status(checked.concept)
            if cs.is_inactive(checked.concept):
                out.append({"name": "inactive", "valueBoolean": True})
                if status and status != "inactive":
                    out.append({"name": "status", "valueCode": status})
            elif cs.is_deprecated(checked.concept):
                out.append({"name": "status", "valueCode": "deprecated"})

    def _answer(self, checked: Checked) -> dict:
        out: list[dict] = []
        self._describe(checked, out)
        if self.value_set_issues:
            return _finish(out, self.value_set_issues, False)
        valid = checked.outcome is True and not checked.failed
        _unknowns(out, [checked], checked.outcome, valid, self.value_set is not None)
        return _finish(out, self.status_issues + checked.issues, valid)

    def _answer_codeable(self, concept: dict, checked: list[Checked]) -> dict:
        out: list[dict] = [{"name": "codeableConcept", "valueCodeableConcept": concept}]
        if self.value_set_issues:
            return _finish(out, self.value_set_issues, False)
        issues: list[Issue] = list(self.status_issues)
        for c in checked:
            issues.extend(c.issues)
        good = [c for c in checked if c.outcome is True]
        ok = True if good else (None if any(c.outcome is None for c in checked) else False)
        if good:
            self._describe(good[-1], out)  # the last coding that is valid, as tx.fhir.org says it
        elif ok is False and self.value_set is not None:
            issues.insert(
                0,
                Issue(
                    "error",
                    "code-invalid",
                    self.context.message("TX_GENERAL_CC_ERROR_MESSAGE", self._value_set_name()),
                    "not-in-vs",
                ),
            )
        valid = ok is True and not any(i.severity == "error" for i in issues)
        _unknowns(out, checked, ok, valid, self.value_set is not None)
        return _finish(out, issues, valid)


def _unknowns(out: list[dict], checked: list[Checked], ok: bool | None, valid: bool, in_value_set: bool) -> None:
    """Unknown code systems: why the codes are not in the value set (``x-unknown-system``, as the
    ecosystem reports it), or why the answer could not be decided (``x-caused-by-unknown-system``,
    also for a CodeSystem/$validate-code on a system nobody here knows)."""
    if valid:
        return
    name = "x-unknown-system" if ok is False and in_value_set else "x-caused-by-unknown-system"
    seen: list[str] = []
    for c in checked:
        for canonical in c.unknowns:
            if canonical not in seen:
                seen.append(canonical)
                out.append({"name": name, "valueCanonical": canonical})


def _finish(out: list[dict], issues: list[Issue], valid: bool) -> dict:
    unique: list[Issue] = []
    for issue in issues:
        if not any(u.text == issue.text and u.severity == issue.severity for u in unique):
            unique.append(issue)
    texts = [i.text for i in unique if i.severity == "error" or getattr(i.text, "key", None) in _MESSAGE_WARNINGS]
    if texts:
        out.append({"name": "message", "valueString": "; ".join(dict.fromkeys(texts))})
    out.insert(0, {"name": "result", "valueBoolean": valid})
    if unique:
        out.append(
            {"name": "issues", "resource": {"resourceType": "OperationOutcome", "issue": [i.render() for i in unique]}}
        )
    return {"resourceType": "Parameters", "parameter": out}
