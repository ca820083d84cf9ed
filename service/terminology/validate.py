"""$validate-code over any FHIR CodeSystem or ValueSet.

One ``Validator`` per request checks each coding it was given (a code with system, a Coding, or
every coding of a CodeableConcept): is the system known (and the version), is the code in it,
is it in the value set, does the display fit the requested languages, is it active. Problems
become OperationOutcome issues located on the input (``code``, ``Coding.display``,
``CodeableConcept.coding[1].code`` ...); the answer's ``message`` joins the error texts (and a
few warnings peers also put there).

For a value set, membership is decided include by include: each include of the coding's system
picks the code system version to use (the include's version, the request's version rules and
the coding's own version, reconciled as the HL7 reference servers do), so version disagreements
are reported where they arise. A coding ends up in the value set (True), not in it (False), or
undecidable (None, its code system or version is unknown).

The pieces, one job each: this module checks a coding against its code system (system, version,
code, status); ``membership.py`` decides value set membership; ``display.py`` checks the display;
``answer.py`` writes the answer; ``checked.py`` holds what was found for one coding, and what the
pieces share (``ValidatorBase``: the validator's state, for the type checker).
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..fhir.outcome import Issue
from .answer import Answers
from .checked import Checked, rekey
from .codesystem import CodeSystem, Concept, property_value
from .context import Context
from .display import DisplayChecks
from .library import split_canonical
from .membership import MembershipChecks
from .versions import matches, newest, versions_text

_NO_CODE = (
    "Unable to find code to validate (looked for coding | codeableConcept | code+system | "
    "code+inferSystem in parameters"
)


class Validator(MembershipChecks, DisplayChecks, Answers):
    """One $validate-code: the coding checks here; membership, display and the answer in the mixins."""

    def __init__(self, context: Context, value_set: dict | None = None, code_system: CodeSystem | None = None):
        self.context = context
        self.params = context.params
        self.value_set = value_set
        self.code_system = code_system
        self._members = None
        self._imported = {}
        self.value_set_issues = []
        self.status_issues = []
        self.membership_only = self.params.boolean("valueset-membership-only", False)
        if value_set is not None:
            context.see_value_set(value_set)

    # -- entry ------------------------------------------------------------------------------------
    def validate(self) -> dict:
        params = self.params
        self.context.check_supplements()
        if self.value_set is not None:
            self._prepare_imports()
            issue = self.status_issue(self._vs, self.context.vurl(self._vs), "ValueSet", self._vs)
            self.status_issues = [issue] if issue is not None else []
        concept = params.complex("codeableConcept", "valueCodeableConcept")
        if concept is not None:
            codings = [c for c in concept.get("coding", []) if isinstance(c, dict)]
            checked = [self._check(dict(c), f"CodeableConcept.coding[{i}]") for i, c in enumerate(codings)]
            return self._answer_codeable(concept, checked)
        coding = params.complex("coding", "valueCoding")
        if coding is not None:
            return self._answer(self._check(dict(coding), "Coding"))
        code = params.string("code")
        if code is None:
            raise InvalidRequest(_NO_CODE)
        system = (
            params.string("system") if self.value_set is not None else (params.string("url") or params.string("system"))
        )
        version = params.string("systemVersion") if self.value_set is not None else params.string("version")
        version = version or params.string("version")
        coding = {"system": system, "code": code, "version": version, "display": params.string("display")}
        return self._answer(self._check({k: v for k, v in coding.items() if v is not None}, ""))

    def _check(self, coding: dict, path: str) -> Checked:
        if self.value_set_issues:  # the value set cannot be evaluated: report only that
            return Checked(coding, path, outcome=False)
        return self.check(coding, path)

    def _prepare_imports(self) -> None:
        """An imported value set that cannot be found makes the whole value set unusable."""
        missing = self._missing_import(self._vs, set())
        if missing:
            self.value_set_issues.append(
                Issue("error", "not-found", self.context.message("Unable_to_resolve_value_Set_", missing), "not-found")
            )

    def _missing_import(self, value_set: dict, seen: set[str]) -> str | None:
        compose = value_set.get("compose") or {}
        for part in compose.get("include", []) + compose.get("exclude", []):
            for reference in part.get("valueSet", []):
                if reference.startswith("#"):
                    continue
                url, version = split_canonical(reference, None)
                version = version or self.params.default_value_set_versions.get(url)
                found = self.context.library.value_set(url, version)
                if found is None:
                    return f"{url}|{version}" if version else url
                key = self.context.vurl(found)
                if key not in seen:
                    seen.add(key)
                    inner = self._missing_import(found, seen)
                    if inner:
                        return inner
        return None

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
            raise InvalidRequest(
                "$validate-code needs the code system (url, or the coding's system)", expression=result.at("system")
            )
        if system is None:
            result.add(
                "warning",
                "invalid",
                self.context.message("Coding_has_no_system__cannot_validate"),
                "invalid-data",
                None,
            )
            self._not_in_value_set(result)
            return result
        if not _absolute(system):
            result.add(
                "error", "invalid", self.context.message("Terminology_TX_System_Relative"), "invalid-data", "system"
            )
        if self.context.library.value_set(system) is not None and not self.context.library.has_code_system(system):
            result.add(
                "error",
                "invalid",
                self.context.message("Terminology_TX_System_ValueSet2", system),
                "invalid-data",
                "system",
            )
            self._not_in_value_set(result)
            return result
        if self.value_set is not None:
            self._check_in_value_set(result, system, code)
        else:
            self._check_in_code_system(result, system, code)
        return result

    def _refused_supplement(self, result: Checked, cs: CodeSystem) -> bool:
        """A supplement named as a coding's system: an error (it cannot be the system of a code)."""
        if cs.is_supplement:
            result.add(
                "error",
                "invalid",
                self.context.message("CODESYSTEM_CS_NO_SUPPLEMENT", cs.vurl),
                "invalid-data",
                "system",
            )
        return cs.is_supplement

    def _check_in_code_system(self, result: Checked, system: str, code: str | None) -> None:
        cs = self._code_system(result, system, result.coding.get("version"))
        if cs is None:
            return
        result.cs = cs
        if self._refused_supplement(result, cs):
            result.outcome = None
            return
        self.add_status(result, cs.resource, cs.vurl, "CodeSystem", None)  # (against all of the code system)
        result.version = cs.version
        concept = cs.locate(code) if code else None
        if concept is None:
            result.outcome = self._unknown_code(result, cs, code)
            return
        result.concept = concept
        result.outcome = self._allowed(result, cs, concept)
        self._concept_checks(result, cs, concept)

    def _check_in_value_set(self, result: Checked, system: str, code: str | None) -> None:
        result.outcome = self._membership(result, system, code)
        if result.outcome is True:
            if result.cs is not None and result.concept is not None:  # a concept comes with its code system
                self._concept_checks(result, result.cs, result.concept)
                self._deprecated_in_value_set(result)
            return
        if result.outcome is None:
            return
        self._not_in_value_set(result)
        if not self.membership_only:
            self._code_system_report(result, system, code)

    def _concept_checks(self, result: Checked, cs: CodeSystem, concept: Concept) -> None:
        """Checks on a located concept: case, status, display."""
        code = result.coding.get("code")
        if concept.code != code:
            result.add(
                "information",
                "business-rule",
                self.context.message("CODE_CASE_DIFFERENCE", code, concept.code, cs.vurl),
                "code-rule",
                "code",
            )
        self._check_status(result, cs, concept)
        display = result.coding.get("display")
        if display and not self.membership_only:
            self._check_display(result, cs, concept, display)

    def _infer_system(self, result: Checked, code: str | None) -> str | None:
        systems = sorted({m.system for m in self._value_set_members().values() if m.code == code})
        if len(systems) == 1:
            return systems[0]
        vurl = self.context.vurl(self._vs)
        if systems:
            text = self.context.message(
                "Unable_to_resolve_system__value_set_has_multiple_matches", code, vurl, f"[{', '.join(systems)}]"
            )
        else:
            candidates = sorted({m.system for m in self._value_set_members().values()})
            text = self.context.message("UNABLE_TO_INFER_CODESYSTEM", code, vurl)
            if candidates:
                text = rekey(text + f" (it is not a code of {', '.join(candidates)})", "UNABLE_TO_INFER_CODESYSTEM")
        result.add("error", "not-found", text, "cannot-infer", "code")
        result.issues.insert(
            0,
            Issue(
                "error",
                "code-invalid",
                self.context.message("None_of_the_provided_codes_are_in_the_value_set_one", None, vurl, f"'{code}'"),
                "not-in-vs",
                "code",
            ),
        )
        return None

    # -- versions ---------------------------------------------------------------------------------
    def _apply_rules(self, system: str, version: str | None) -> str | None:
        """The version request rules make of ``version``: force replaces it, default and check fill a gap."""
        params = self.params
        forced = params.rule_version("force-system-version", system)
        if forced:
            return forced
        return (
            version
            or params.rule_version("system-version", system)
            or params.rule_version("check-system-version", system)
        )

    def _determine_version(self, result: Checked, system: str, stated: str | None) -> str | None:
        """The version of ``system`` to use for an include stating ``stated``, given the coding's version.

        Reports where the include (after the request's rules) and the coding disagree."""
        context, library = self.context, self.context.library
        coding_version = result.coding.get("version")
        ruled = self._apply_rules(system, stated)
        chosen = ruled
        if not coding_version:
            return chosen
        known = library.code_system_versions(system)
        if chosen and coding_version != chosen and matches(chosen, coding_version):
            chosen = coding_version  # the coding names a version the include's pattern allows
        if not chosen and any(matches(coding_version, k) for k in known):
            chosen = coding_version
        cs = context.code_system(system, chosen)
        if cs is not None and cs.version != coding_version and not matches(coding_version, cs.version):
            if not ruled:
                # A versionless include: any version would do, so this is only a warning.
                result.add(
                    "warning",
                    "invalid",
                    context.message("VALUESET_VALUE_MISMATCH_DEFAULT", system, cs.version, "", coding_version),
                    "vs-invalid",
                    "version",
                )
            elif chosen != stated:
                result.add(
                    "error",
                    "invalid",
                    context.message("VALUESET_VALUE_MISMATCH_CHANGED", system, chosen, stated or "", coding_version),
                    "vs-invalid",
                    "version",
                )
            else:
                result.add(
                    "error",
                    "invalid",
                    context.message("VALUESET_VALUE_MISMATCH", system, stated, coding_version),
                    "vs-invalid",
                    "version",
                )
            if library.code_system(system, coding_version) is None:
                result.add(
                    "error",
                    "not-found",
                    context.message("UNKNOWN_CODESYSTEM_VERSION", system, coding_version, versions_text(known)),
                    "not-found",
                    "system",
                )
                result.remember_unknown(f"{system}|{coding_version}")
        elif cs is None and chosen != coding_version:
            result.add(
                "error",
                "invalid",
                context.message("VALUESET_VALUE_MISMATCH", system, chosen, coding_version),
                "vs-invalid",
                "version",
            )
        return chosen

    def _version_check(self, result: Checked, cs: CodeSystem) -> None:
        wanted = self.params.rule_version("check-system-version", cs.url)
        if wanted and not matches(wanted, cs.version):
            result.add(
                "error",
                "exception",
                self.context.message("VALUESET_VERSION_CHECK", cs.url, cs.version, wanted),
                "version-error",
                "version",
            )

    # -- code system level ------------------------------------------------------------------------

    def _code_system_report(self, result: Checked, system: str, code: str | None) -> None:
        """For a coding not in the value set: is its system known, and its code? (and its display)"""
        includes = [i for i in (self._vs.get("compose") or {}).get("include", []) if isinstance(i, dict)]
        stated = [i["version"] for i in includes if i.get("system") == system and i.get("version")]
        version = result.coding.get("version") or self._apply_rules(system, newest(stated))
        cs = self.context.code_system(system, version)
        if cs is None:
            # Peers quote the system, except (for absolute systems) when the value set has no filters.
            quoted = not _absolute(system) or any(i.get("filter") for i in includes)
            self._report_unknown(result, system, version, quoted)
            return
        if self._refused_supplement(result, cs):
            return
        concept = cs.locate(code) if code else None
        if result.concept is None:
            result.cs, result.version = cs, cs.version
        if concept is None:
            self._unknown_code(result, cs, code)
            return
        result.cs, result.concept, result.version = cs, concept, cs.version
        self._concept_checks(result, cs, concept)

    def _code_system(self, result: Checked, system: str, coding_version: str | None) -> CodeSystem | None:
        """The code system for the CodeSystem operation (the request's version rules applied)."""
        params = self.params
        version = (
            params.rule_version("force-system-version", system)
            or coding_version
            or params.rule_version("system-version", system)
        )
        cs = self.context.code_system(system, version)
        if cs is None:
            known = self.context.library.has_code_system(system)
            self._report_unknown(result, system, version, quoted=not _absolute(system))
            result.outcome = None if known else False
        return cs

    def _report_unknown(self, result: Checked, system: str, version: str | None, quoted: bool) -> None:
        context, library = self.context, self.context.library
        known = library.code_system_versions(system)
        if version and (known or library.has_code_system(system)):
            result.add(
                "error",
                "not-found",
                context.message("UNKNOWN_CODESYSTEM_VERSION", system, version, versions_text(known)),
                "not-found",
                "system",
            )
            result.remember_unknown(f"{system}|{version}")
            return
        if version:
            text = context.message("UNKNOWN_CODESYSTEM_VERSION_NONE", system, version)
        else:
            text = context.message("UNKNOWN_CODESYSTEM", system)
            if not quoted:
                text = rekey(text.replace(f"'{system}'", system), "UNKNOWN_CODESYSTEM")
        result.add("error", "not-found", text, "not-found", "system")
        result.remember_unknown(system)

    def _unknown_code(self, result: Checked, cs: CodeSystem, code: str | None) -> bool:
        """Report a code ``cs`` does not have; True when that is acceptable (a fragment)."""
        context = self.context
        if cs.content != "complete":
            result.add(
                "warning",
                "code-invalid",
                context.message("UNKNOWN_CODE_IN_FRAGMENT", code, cs.url, cs.version),
                "invalid-code",
                "code",
            )
            return True
        key = "Unknown_Code_in_Version" if cs.version else "Unknown_Code_in"
        result.add("error", "code-invalid", context.message(key, code, cs.url, cs.version), "invalid-code", "code")
        return False

    # -- concept checks ---------------------------------------------------------------------------

    def _check_status(self, result: Checked, cs: CodeSystem, concept: Concept) -> None:
        if cs.is_inactive(concept):
            status = cs.status(concept)
            status = f"{status} and inactive" if status and status != "inactive" else "inactive"
            result.add(
                "warning",
                "business-rule",
                self.context.message("INACTIVE_CONCEPT_FOUND", status, concept.code),
                "code-comment",
                None,
            )
        elif cs.is_deprecated(concept):
            result.add(
                "warning",
                "business-rule",
                self.context.message("DEPRECATED_CONCEPT_FOUND", "deprecated", concept.code),
                "code-comment",
                None,
            )

    def _lenient(self) -> bool:
        # The last value wins: a batch entry's own parameter overrides the shared one.
        entries = self.params.all("lenient-display-validation")
        if not entries:
            return False
        value = property_value(entries[-1])[1]
        return value is True or str(value).strip().lower() == "true"


def _absolute(system: str) -> bool:
    scheme, colon, _ = system.partition(":")
    return bool(colon) and scheme.isalpha()
