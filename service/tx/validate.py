"""$validate-code over any FHIR CodeSystem or ValueSet.

One ``Validator`` per request checks each coding it was given (a code with system, a Coding, or
every coding of a CodeableConcept): is the system known (and the version), is the code in it,
is it in the value set, does the display fit the requested languages, is it active. Problems
become OperationOutcome issues located on the input (``code``, ``Coding.display``,
``CodeableConcept.coding[1].code`` ...); the answer's ``message`` joins the issue texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidRequest, NotFound
from .codesystem import CodeSystem, Concept
from .context import Context
from .expand import Expander
from .languages import language_matches
from .outcome import Issue
from .render import display_for
from .versions import is_more_detailed


@dataclass
class Checked:
    """What checking one coding found."""

    coding: dict
    path: str  # "" for code/system/display parameters, else "Coding" / "CodeableConcept.coding[i]"
    issues: list[Issue] = field(default_factory=list)
    cs: CodeSystem | None = None
    concept: Concept | None = None
    in_value_set: bool = False
    unknown_system: str | None = None  # x-unknown-system
    unknown_version: str | None = None  # x-caused-by-unknown-system
    version: str | None = None

    def at(self, element: str) -> str:
        return f"{self.path}.{element}" if self.path else element

    def add(self, severity: str, code: str, text: str, tx_code: str | None, element: str | None) -> None:
        expression = (self.at(element) if element else self.path) if element is not None or self.path else None
        self.issues.append(Issue(severity, code, text, tx_code, expression))

    @property
    def failed(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


class Validator:
    def __init__(self, context: Context, value_set: dict | None = None, code_system: CodeSystem | None = None):
        self.context = context
        self.params = context.params
        self.value_set = value_set
        self.code_system = code_system
        self._members: dict | None = None
        self.value_set_issues: list[Issue] = []  # the value set itself could not be evaluated
        self.membership_only = self.params.boolean("valueset-membership-only", False)
        if value_set is not None:
            context.see_value_set(value_set)

    # -- entry ------------------------------------------------------------------------------------
    def validate(self) -> dict:
        params = self.params
        concept = params.complex("codeableConcept", "valueCodeableConcept")
        if concept is not None:
            codings = [c for c in concept.get("coding", []) if isinstance(c, dict)]
            checked = [self.check(c, f"CodeableConcept.coding[{i}]") for i, c in enumerate(codings)]
            return self._answer_codeable(concept, checked)
        coding = params.complex("coding", "valueCoding")
        if coding is not None:
            return self._answer(self.check(dict(coding), "Coding"))
        code = params.string("code")
        if code is None:
            raise InvalidRequest("$validate-code needs code, coding or codeableConcept", expression="code")
        system = params.string("system") if self.value_set is not None else (
            params.string("url") or params.string("system"))
        version = params.string("systemVersion") if self.value_set is not None else params.string("version")
        version = version or params.string("version")
        coding = {"system": system, "code": code, "version": version, "display": params.string("display")}
        return self._answer(self.check({k: v for k, v in coding.items() if v is not None}, ""))

    # -- one coding -------------------------------------------------------------------------------
    def check(self, coding: dict, path: str) -> Checked:
        result = Checked(coding, path)
        code, system = coding.get("code"), coding.get("system")
        if self.code_system is not None and system is None:
            system = coding["system"] = self.code_system.url
        if system is None and self.value_set is not None and path == "":
            system = self._infer_system(result, code)
            if system is None:
                return result
            coding["system"] = system
        if system is None and self.value_set is None:
            raise InvalidRequest("$validate-code needs the code system (url, or the coding's system)",
                                 expression=result.at("system"))
        if system is None:
            result.add("warning", "invalid", self.context.message("Coding_has_no_system__cannot_validate"),
                       "invalid-data", None if path else "code")
            self._not_in_value_set(result)
            return result
        if ":" not in system:
            result.add("error", "invalid", self.context.message("Terminology_TX_System_Relative"), "invalid-data",
                       "system")
        if self.context.library.value_set(system) is not None and not self.context.library.has_code_system(system):
            result.add("error", "invalid", self.context.message("Terminology_TX_System_ValueSet2", system),
                       "invalid-data", "system")
            self._not_in_value_set(result)
            return result
        cs = self._code_system(result, system, coding.get("version"))
        if cs is None:
            self._not_in_value_set(result)
            return result
        result.cs = cs
        result.version = cs.version
        if cs.is_supplement:
            result.add("error", "invalid", self.context.message("CODESYSTEM_CS_NO_SUPPLEMENT", cs.vurl),
                       "invalid-data", "system")
            self._not_in_value_set(result)
            return result
        concept = cs.locate(code) if code else None
        if concept is None:
            if not self.membership_only:
                self._unknown_code(result, cs, code)
            self._not_in_value_set(result)
            return result
        result.concept = concept
        if concept.code != code:
            result.add("information", "business-rule",
                       self.context.message("CODE_CASE_DIFFERENCE", code, concept.code, cs.url), "code-rule", "code")
        self._check_status(result, cs, concept)
        if self.value_set is not None:
            self._check_membership(result, cs, concept)
        self._check_abstract(result, cs, concept)
        if coding.get("display") and not self.membership_only:
            self._check_display(result, cs, concept, coding["display"])
        return result

    def _infer_system(self, result: Checked, code: str) -> str | None:
        systems = sorted({m.system for m in self._value_set_members().values() if m.code == code})
        if len(systems) == 1:
            return systems[0]
        vurl = self.context.vurl(self.value_set)
        if systems:
            text = self.context.message("Unable_to_resolve_system__value_set_has_multiple_matches", code, vurl,
                                        ", ".join(systems))
        else:
            candidates = sorted({m.system for m in self._value_set_members().values()})
            text = self.context.message("UNABLE_TO_INFER_CODESYSTEM", code, vurl)
            if candidates:
                text += f" (it is not a code of {', '.join(candidates)})"
        result.add("error", "not-found", text, "cannot-infer", "code")
        result.issues.insert(0, Issue("error", "code-invalid", self.context.message(
            "None_of_the_provided_codes_are_in_the_value_set_one", None, vurl, f"'{code}'"), "not-in-vs", "code"))
        return None

    def _code_system(self, result: Checked, system: str, coding_version: str | None) -> CodeSystem | None:
        context = self.context
        version = coding_version
        if self.value_set is not None:
            version = self._version_for_value_set(result, system, coding_version)
        else:
            forced = self.params.rule_version("force-system-version", system)
            version = forced or coding_version or self.params.rule_version("system-version", system)
        cs = context.code_system(system, version)
        if cs is not None:
            return cs
        known = context.library.code_system_versions(system)
        if not known and not context.library.has_code_system(system):
            if version:
                result.add("error", "not-found", context.message("UNKNOWN_CODESYSTEM_VERSION_NONE", system, version),
                           "not-found", "system")
            else:
                quoted = system if ":" in system else f"'{system}'"
                result.add("error", "not-found",
                           context.message("UNKNOWN_CODESYSTEM", quoted).replace(f"'{quoted}'", quoted),
                           "not-found", "system")
            result.unknown_system = system
            return None
        result.add("error", "not-found", context.message("UNKNOWN_CODESYSTEM_VERSION", system, version,
                                                         _versions_text(known)), "not-found", "system")
        result.unknown_version = f"{system}|{version}"
        return None

    def _version_for_value_set(self, result: Checked, system: str, coding_version: str | None) -> str | None:
        """The version to validate against, reporting where the value set and the coding disagree."""
        context, params = self.context, self.params
        stated = self._include_version(system)
        chosen = params.rule_version("force-system-version", system) or stated or \
            params.rule_version("system-version", system)
        if not coding_version:
            return chosen
        library = context.library
        if chosen and coding_version != chosen and is_more_detailed(chosen, coding_version):
            chosen = coding_version
        if not chosen and coding_version in library.code_system_versions(system):
            chosen = coding_version
        cs = context.code_system(system, chosen)
        if cs is not None and cs.version != coding_version and not is_more_detailed(coding_version, cs.version or ""):
            severity = "error"
            if not chosen:
                severity = "warning"
                text = context.message("VALUESET_VALUE_MISMATCH_DEFAULT", system, cs.version, stated, coding_version)
            elif chosen != stated:
                text = context.message("VALUESET_VALUE_MISMATCH_CHANGED", system, chosen, stated or "",
                                       coding_version)
            else:
                text = context.message("VALUESET_VALUE_MISMATCH", system, stated, coding_version)
            result.add(severity, "invalid", text, "vs-invalid", "version")
            if context.library.code_system(system, coding_version) is None:
                result.add("error", "not-found", context.message(
                    "UNKNOWN_CODESYSTEM_VERSION", system, coding_version,
                    _versions_text(library.code_system_versions(system))), "not-found", "system")
                result.unknown_version = f"{system}|{coding_version}"
        elif cs is None and chosen != coding_version:
            result.add("error", "invalid", context.message("VALUESET_VALUE_MISMATCH", system, chosen, coding_version),
                       "vs-invalid", "version")
        return chosen

    def _include_version(self, system: str) -> str | None:
        for include in (self.value_set.get("compose") or {}).get("include", []):
            if include.get("system") == system and include.get("version"):
                return include["version"]
        return None

    def _unknown_code(self, result: Checked, cs: CodeSystem, code: str | None) -> None:
        context = self.context
        if cs.content == "fragment":
            result.add("warning", "code-invalid", context.message("UNKNOWN_CODE_IN_FRAGMENT", code, cs.url,
                                                                   cs.version), "invalid-code", "code")
            return
        key = "Unknown_Code_in_Version" if cs.version else "Unknown_Code_in"
        result.add("error", "code-invalid", context.message(key, code, cs.url, cs.version), "invalid-code", "code")

    # -- value set membership ---------------------------------------------------------------------
    def _value_set_members(self) -> dict:
        if self._members is None:
            self._members = {}
            try:
                evaluated = Expander(self.context).members(self.value_set)
            except NotFound as error:
                self.value_set_issues.append(Issue("error", "not-found", error.message, error.tx_code))
            else:
                self._members = {m.key: m for m in evaluated.members}
        return self._members

    def _not_in_value_set(self, result: Checked) -> None:
        if self.value_set is None:
            return
        coding = result.coding
        system = coding.get("system") or ""
        if coding.get("version"):
            system = f"{system}|{coding['version']}"
        shown = f"{system}#{coding.get('code')}"
        if coding.get("display"):
            shown += f" ('{coding['display']}')"
        text = self.context.message("None_of_the_provided_codes_are_in_the_value_set_one", None,
                                    self._value_set_name(), f"'{shown}'")
        severity, tx = ("information", "this-code-not-in-vs") if result.path.startswith("CodeableConcept") \
            else ("error", "not-in-vs")
        result.issues.insert(0, Issue(severity, "code-invalid", text, tx, result.at("code")))

    def _value_set_name(self) -> str:
        return self.context.vurl(self.value_set) if self.value_set.get("url") else "(unidentified)"

    def _check_membership(self, result: Checked, cs: CodeSystem, concept: Concept) -> None:
        members = self._value_set_members()
        member = members.get((cs.url, concept.code))
        if member is not None and self.params.boolean("activeOnly", False) and member.inactive:
            result.add("error", "business-rule",
                       self.context.message("STATUS_CODE_WARNING_CODE", "not active", concept.code),
                       "code-rule", "code")
            member = None
        if member is None:
            self._not_in_value_set(result)
        else:
            result.in_value_set = True

    # -- concept checks ---------------------------------------------------------------------------
    def _check_status(self, result: Checked, cs: CodeSystem, concept: Concept) -> None:
        if cs.is_inactive(concept):
            status = cs.status(concept)
            status = f"{status} and inactive" if status and status != "inactive" else "inactive"
            result.add("warning", "business-rule", self.context.message("INACTIVE_CONCEPT_FOUND", status,
                                                                         concept.code), "code-comment", None)
        elif cs.is_deprecated(concept):
            result.add("warning", "business-rule", self.context.message("DEPRECATED_CONCEPT_FOUND", "deprecated",
                                                                         concept.code), "code-comment", None)

    def _check_abstract(self, result: Checked, cs: CodeSystem, concept: Concept) -> None:
        if self.params.boolean("abstract", True) is False and cs.is_abstract(concept):
            result.add("error", "business-rule", self.context.message("ABSTRACT_CODE_NOT_ALLOWED", cs.url,
                                                                       concept.code), "code-rule", "code")

    def _check_display(self, result: Checked, cs: CodeSystem, concept: Concept, display: str) -> None:
        context = self.context
        languages = self.params.languages
        if languages is None and self.value_set is not None and self.value_set.get("language"):
            from .languages import Languages
            languages = Languages.parse(self.value_set["language"])
        valid = _valid_displays(cs, concept, languages)
        if display in valid or (not cs.case_sensitive and display.lower() in {v.lower() for v in valid}):
            return
        severity = "warning" if self.params.boolean("lenient-display-validation", False) else "error"
        all_displays = _valid_displays(cs, concept, None)
        language_text = ",".join(languages.ranges) if languages else "--"
        if languages is not None and not valid:
            if display in all_displays:
                result.add("information", "invalid", context.message(
                    "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK", display, cs.url, concept.code, language_text),
                    "invalid-display", "display")
            else:
                result.add(severity, "invalid", context.message(
                    "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR", display, cs.url, concept.code, language_text,
                    concept.display), "invalid-display", "display")
            return
        choices = valid or all_displays
        normalized = " ".join(display.split())
        key = "Display_Name_WS_for__should_be_one_of__instead_of" if normalized in choices and normalized != display \
            else "Display_Name_for__should_be_one_of__instead_of"
        shown = ", ".join(f"'{c}'" for c in choices)
        result.add(severity, "invalid", context.plural(key, len(choices), cs.url, concept.code, shown, display,
                                                       language_text), "invalid-display", "display")

    # -- answers ----------------------------------------------------------------------------------
    def _describe(self, checked: Checked, out: list[dict]) -> None:
        coding = checked.coding
        if coding.get("code") is not None:
            out.append({"name": "code", "valueCode": checked.concept.code if checked.concept else coding["code"]})
        if coding.get("system") is not None:
            out.append({"name": "system", "valueUri": coding["system"]})
        version = checked.version or coding.get("version")
        if version:
            out.append({"name": "version", "valueString": version})
        if checked.concept is not None:
            display = display_for(checked.cs, checked.concept, checked.concept.display, self.params.languages)
            if display:
                out.append({"name": "display", "valueString": display})
            if checked.cs.is_inactive(checked.concept):
                out.append({"name": "inactive", "valueBoolean": True})
            status = checked.cs.status(checked.concept)
            if status and status != "active":
                out.append({"name": "status", "valueCode": status})
        if checked.unknown_system:
            out.append({"name": "x-unknown-system", "valueCanonical": checked.unknown_system})
        if checked.unknown_version:
            out.append({"name": "x-caused-by-unknown-system", "valueCanonical": checked.unknown_version})

    def _answer(self, checked: Checked) -> dict:
        out: list[dict] = []
        self._describe(checked, out)
        if self.value_set_issues:
            return _finish(out, self.value_set_issues, False)
        return _finish(out, checked.issues, not checked.failed)

    def _answer_codeable(self, concept: dict, checked: list[Checked]) -> dict:
        out: list[dict] = [{"name": "codeableConcept", "valueCodeableConcept": concept}]
        if self.value_set_issues:
            return _finish(out, self.value_set_issues, False)
        issues: list[Issue] = []
        good = [c for c in checked if c.concept is not None and (self.value_set is None or c.in_value_set)]
        for c in checked:
            issues.extend(c.issues)
        if good:
            self._describe(good[0], out)
        else:
            for c in checked:
                if c.unknown_system:
                    out.append({"name": "x-unknown-system", "valueCanonical": c.unknown_system})
                if c.unknown_version:
                    out.append({"name": "x-caused-by-unknown-system", "valueCanonical": c.unknown_version})
            if self.value_set is not None:
                issues.insert(0, Issue("error", "code-invalid", self.context.message(
                    "TX_GENERAL_CC_ERROR_MESSAGE", self._value_set_name()), "not-in-vs"))
        valid = bool(good) and not any(i.severity == "error" for c in good for i in c.issues)
        return _finish(out, issues, valid)


def _finish(out: list[dict], issues: list[Issue], valid: bool) -> dict:
    texts = [i.text for i in issues if i.tx_code != "this-code-not-in-vs"]
    if texts:
        out.append({"name": "message", "valueString": "; ".join(dict.fromkeys(texts))})
    out.insert(0, {"name": "result", "valueBoolean": valid})
    if issues:
        out.append({"name": "issues", "resource": {"resourceType": "OperationOutcome",
                                                   "issue": [i.render() for i in issues]}})
    return {"resourceType": "Parameters", "parameter": out}


def _valid_displays(cs: CodeSystem, concept: Concept, languages) -> list[str]:
    """Displays acceptable for ``languages`` (all of them when no language is asked for)."""
    out: list[str] = []
    base = cs.language
    for_default = languages is None or languages.accepts_any or any(
        language_matches(r, base or "en") for r in languages.ranges)
    if concept.display and for_default:
        out.append(concept.display)
    for designation in concept.designations:
        value = designation.get("value")
        if not value:
            continue
        language = designation.get("language") or base
        if languages is None or languages.accepts_any or any(language_matches(r, language or "en")
                                                             for r in languages.ranges):
            out.append(value)
    return list(dict.fromkeys(out))


def _versions_text(versions: list[str]) -> str:
    return " or ".join(versions) if versions else "(none)"

