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
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidRequest, NotFound
from ..fhir.outcome import Issue
from .codesystem import CodeSystem, Concept, property_value
from .context import Context
from .expand import Expander
from .filters import concepts_for_filter
from .languages import Languages, language_matches
from .library import split_canonical
from .messages import Message
from .render import display_for
from .versions import matches, newest, sort_key, versions_text

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
_STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
_VS_DEPRECATED = "http://hl7.org/fhir/StructureDefinition/valueset-deprecated"
_DISPLAY_USES = {"preferredForLanguage", "900000000000548007", "display"}
_NO_CODE = (
    "Unable to find code to validate (looked for coding | codeableConcept | code+system | "
    "code+inferSystem in parameters"
)


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


class Validator:
    def __init__(self, context: Context, value_set: dict | None = None, code_system: CodeSystem | None = None):
        self.context = context
        self.params = context.params
        self.value_set = value_set
        self.code_system = code_system
        self._members: dict | None = None
        self._imported: dict[str, dict] = {}  # imported value set -> its members by (system, code)
        self.value_set_issues: list[Issue] = []  # the value set itself could not be evaluated
        self.membership_only = self.params.boolean("valueset-membership-only", False)
        if value_set is not None:
            context.see_value_set(value_set)

    # -- entry ------------------------------------------------------------------------------------
    def validate(self) -> dict:
        params = self.params
        self.context.check_supplements()
        if self.value_set is not None:
            self._prepare_imports()
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
        missing = self._missing_import(self.value_set, set())
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

    def _check_in_code_system(self, result: Checked, system: str, code: str | None) -> None:
        cs = self._code_system(result, system, result.coding.get("version"))
        if cs is None:
            return
        result.cs = cs
        if cs.is_supplement:
            result.add(
                "error",
                "invalid",
                self.context.message("CODESYSTEM_CS_NO_SUPPLEMENT", cs.vurl),
                "invalid-data",
                "system",
            )
            result.outcome = None
            return
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
            if result.concept is not None:
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

    def _infer_system(self, result: Checked, code: str) -> str | None:
        systems = sorted({m.system for m in self._value_set_members().values() if m.code == code})
        if len(systems) == 1:
            return systems[0]
        vurl = self.context.vurl(self.value_set)
        if systems:
            text = self.context.message(
                "Unable_to_resolve_system__value_set_has_multiple_matches", code, vurl, f"[{', '.join(systems)}]"
            )
        else:
            candidates = sorted({m.system for m in self._value_set_members().values()})
            text = self.context.message("UNABLE_TO_INFER_CODESYSTEM", code, vurl)
            if candidates:
                text = _rekey(text + f" (it is not a code of {', '.join(candidates)})", "UNABLE_TO_INFER_CODESYSTEM")
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

    # -- value set membership ---------------------------------------------------------------------
    def _membership(self, result: Checked, system: str, code: str | None) -> bool | None:
        compose = self.value_set.get("compose") or {}
        found = False
        for include in self._includes_for(system, code, result.coding):
            if include.get("system") is None:
                member = self._in_imports(include, system, code)
                if member is None:
                    continue
                result.cs, result.concept = member.cs, member.concept
                result.version = member.version
                if member.concept is not None and not self._allowed(result, member.cs, member.concept):
                    continue
                found = True
                break
            upstream = self.context.upstream_for(system)
            if upstream is not None:
                if self._in_remote_include(result, upstream, include):
                    found = True
                    break
                continue
            version = self._determine_version(result, system, include.get("version"))
            cs = self.context.code_system(system, version)
            if cs is None:
                if self.membership_only:
                    return False
                self._report_unknown(result, system, version, quoted=True)
                return None
            self._version_check(result, cs)
            if not self._in_include(result, cs, include, code):
                continue
            if include.get("valueSet") and self._in_imports(include, system, code) is None:
                continue
            found = True
            break
        if found and code is not None:
            for exclude in compose.get("exclude", []):
                if self._excluded(exclude, system, code):
                    found = False
                    break
        if not found:
            result.include_concept = None
        return found

    def _in_remote_include(self, result: Checked, upstream, include: dict) -> bool:
        """Is the coding in an include of a code system an upstream server holds? Asked of that server."""
        value_set = {"resourceType": "ValueSet", "status": "active", "compose": {"include": [include]}}
        coding = {k: v for k, v in result.coding.items() if k in ("system", "version", "code", "display")}
        answer = self.context.upstreams.post_json(
            upstream,
            "ValueSet/$validate-code",
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "valueSet", "resource": value_set}, {"name": "coding", "valueCoding": coding}],
            },
        )
        values = {
            p.get("name"): next((v for k, v in p.items() if k.startswith("value")), None)
            for p in answer.get("parameter", [])
            if isinstance(p, dict)
        }
        result.answered_by = upstream.url
        if values.get("result") is not True:
            return False
        result.version = values.get("version")
        result.remote_display = values.get("display")
        return True

    def _includes_for(self, system: str, code: str | None, coding: dict) -> list[dict]:
        """The includes that can hold the coding: those of its system (best version first), then imports."""
        includes = [i for i in (self.value_set.get("compose") or {}).get("include", []) if isinstance(i, dict)]
        same = [i for i in includes if i.get("system") == system]
        coding_version = coding.get("version")
        exact = [i for i in same if coding_version and i.get("version") == coding_version]
        if exact:
            same = exact
        elif not coding_version and code is not None:
            versions = {i["version"] for i in same if i.get("version")}
            if len(versions) > 1:
                # Several versions are included: prefer the newest one that knows the code.
                holding = [
                    v for v in versions if _holds(self.context.code_system(system, v), code, coding.get("display"))
                ]
                if holding and len(holding) < len(versions):
                    best = newest(holding)
                    same = [i for i in same if i.get("version") == best]
        same.sort(key=lambda i: _version_order(i.get("version")), reverse=True)
        return same + [i for i in includes if i.get("system") is None and i.get("valueSet")]

    def _in_include(self, result: Checked, cs: CodeSystem, include: dict, code: str | None) -> bool:
        """Is ``code`` in this include of ``cs``? Records the concept; reports unknown codes."""
        concept = cs.locate(code) if code else None
        if concept is None:
            if include.get("concept") or include.get("filter") or self.membership_only:
                return False
            return self._unknown_code(result, cs, code) is True
        listed = _listed(include, concept)
        if include.get("concept") and listed is None:
            return False
        if include.get("filter") and not _passes_filters(self.context, cs, include, concept):
            return False
        result.cs, result.concept, result.version = cs, concept, cs.version
        result.include_concept = listed
        return self._allowed(result, cs, concept)

    def _allowed(self, result: Checked, cs: CodeSystem, concept: Concept) -> bool:
        """Abstract codes (when the request forbids them) and inactive ones (when excluded) are not members."""
        if self.params.boolean("abstract", True) is False and cs.is_abstract(concept):
            result.add(
                "error",
                "business-rule",
                self.context.message("ABSTRACT_CODE_NOT_ALLOWED", cs.url, concept.code),
                "code-rule",
                "code",
            )
            return False
        inactive_excluded = self.params.boolean("activeOnly", False) or (
            self.value_set is not None and (self.value_set.get("compose") or {}).get("inactive") is False
        )
        if inactive_excluded and cs.is_inactive(concept):
            result.add(
                "error",
                "business-rule",
                self.context.message("STATUS_CODE_WARNING_CODE", "not active", concept.code),
                "code-rule",
                "code",
            )
            return False
        return True

    def _in_imports(self, include: dict, system: str, code: str | None):
        """The member for (system, code) if every value set the include imports holds it, else None."""
        member = None
        for reference in include.get("valueSet", []):
            found = self._imported_member(reference, system, code)
            if found is None:
                return None
            member = member or found
        return member

    def _imported_member(self, reference: str, system: str, code: str | None):
        if reference not in self._imported:
            other = self.context.resolve_value_set(reference, self.value_set)
            members = Expander(self.context).members(other, (self.context.vurl(self.value_set),)).members
            by_key = {m.key: m for m in members}
            for m in members:  # codes of case-insensitive systems also match in any case
                if m.cs is not None and not m.cs.case_sensitive:
                    by_key.setdefault((m.system, m.code.lower()), m)
            self._imported[reference] = by_key
        table = self._imported[reference]
        return table.get((system, code)) or (table.get((system, code.lower())) if code else None)

    def _excluded(self, exclude: dict, system: str, code: str) -> bool:
        if exclude.get("system") not in (None, system):
            return False
        if exclude.get("system") == system:
            cs = self.context.code_system(system, self._apply_rules(system, exclude.get("version")))
            concept = cs.locate(code) if cs is not None else None
            if concept is None:
                return False
            if exclude.get("concept") and _listed(exclude, concept) is None:
                return False
            if exclude.get("filter") and not _passes_filters(self.context, cs, exclude, concept):
                return False
        elif not exclude.get("valueSet"):
            return False
        return all(self._imported_member(r, system, code) is not None for r in exclude.get("valueSet", []))

    def _deprecated_in_value_set(self, result: Checked) -> None:
        listed = result.include_concept
        if not listed:
            return
        status = None
        for ext in listed.get("extension", []):
            if ext.get("url") == _VS_DEPRECATED and ext.get("valueBoolean") is True:
                status = "deprecated"
            elif ext.get("url") == _STANDARDS_STATUS and ext.get("valueCode") in ("deprecated", "withdrawn"):
                status = ext["valueCode"]
        if status:
            result.add(
                "warning",
                "business-rule",
                self.context.message(
                    "CONCEPT_DEPRECATED_IN_VALUESET", result.cs.url, result.concept.code, status, self._value_set_name()
                ),
                "code-comment",
                "code",
            )

    # -- code system level ------------------------------------------------------------------------
    def _code_system_report(self, result: Checked, system: str, code: str | None) -> None:
        """For a coding not in the value set: is its system known, and its code? (and its display)"""
        includes = [i for i in (self.value_set.get("compose") or {}).get("include", []) if isinstance(i, dict)]
        stated = [i["version"] for i in includes if i.get("system") == system and i.get("version")]
        version = result.coding.get("version") or newest(stated)
        cs = self.context.code_system(system, version)
        if cs is None:
            # Peers quote the system, except (for absolute systems) when the value set has no filters.
            quoted = not _absolute(system) or any(i.get("filter") for i in includes)
            self._report_unknown(result, system, version, quoted)
            return
        if cs.is_supplement:
            result.add(
                "error",
                "invalid",
                self.context.message("CODESYSTEM_CS_NO_SUPPLEMENT", cs.vurl),
                "invalid-data",
                "system",
            )
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
                text = _rekey(text.replace(f"'{system}'", system), "UNKNOWN_CODESYSTEM")
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
        text = self.context.message(
            "None_of_the_provided_codes_are_in_the_value_set_one", None, self._value_set_name(), f"'{shown}'"
        )
        severity, tx = (
            ("information", "this-code-not-in-vs")
            if result.path.startswith("CodeableConcept")
            else ("error", "not-in-vs")
        )
        result.issues.insert(0, Issue(severity, "code-invalid", text, tx, result.at("code")))

    def _value_set_name(self) -> str:
        return self.context.vurl(self.value_set) if self.value_set.get("url") else "(unidentified)"

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

    def _check_display(self, result: Checked, cs: CodeSystem, concept: Concept, display: str) -> None:
        context = self.context
        languages = self.params.languages
        if languages is None and self.value_set is not None and self.value_set.get("language"):
            languages = Languages.parse(self.value_set["language"])
        extra = list((result.include_concept or {}).get("designation", []))
        if (result.include_concept or {}).get("display"):
            extra.append({"value": result.include_concept["display"]})
        everything = _designations(cs, concept, extra)
        wanted = [d for d in everything if _accepts(languages, d.language)]

        def same(value: str) -> bool:
            return value == display or (not cs.case_sensitive and value.lower() == display.lower())

        hits = [d for d in wanted if same(d.value)]
        if hits:
            if all(d.inactive for d in hits):
                active = [d.value for d in everything if d.display and not d.inactive]
                text = _rekey(
                    context.message(
                        "INACTIVE_DISPLAY_FOUND_LIST",
                        display,
                        concept.code,
                        "deprecated",
                        ", ".join(f'"{v}"' for v in active),
                    ),
                    "INACTIVE_DISPLAY_FOUND",
                )
                result.add("warning", "invalid", text, "display-comment", "display")
            return
        severity = "warning" if self._lenient() else "error"
        language_text = ",".join(languages.ranges) if languages else "--"
        displays = [d for d in wanted if d.display and not d.inactive]
        if languages is not None and not displays:
            if any(same(d.value) for d in everything):
                result.add(
                    "information",
                    "invalid",
                    context.message(
                        "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK", display, cs.url, concept.code, language_text
                    ),
                    "invalid-display",
                    "display",
                )
            else:
                result.add(
                    severity,
                    "invalid",
                    context.message(
                        "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR",
                        display,
                        cs.url,
                        concept.code,
                        language_text,
                        concept.display,
                    ),
                    "invalid-display",
                    "display",
                )
            return
        choices = displays or [d for d in everything if d.display]
        normalized = " ".join(display.split())
        spaced = normalized != display and any(" ".join(d.value.split()).lower() == normalized.lower() for d in choices)
        key = (
            "Display_Name_WS_for__should_be_one_of__instead_of"
            if spaced
            else "Display_Name_for__should_be_one_of__instead_of"
        )
        shown = _or_list([f"'{d.value}' ({d.language})" if d.language else f"'{d.value}'" for d in choices])
        result.add(
            severity,
            "invalid",
            context.plural(key, len(choices), cs.url, concept.code, shown, display, language_text),
            "invalid-display",
            "display",
        )

    def _lenient(self) -> bool:
        # The last value wins: a batch entry's own parameter overrides the shared one.
        entries = self.params.all("lenient-display-validation")
        if not entries:
            return False
        value = property_value(entries[-1])[1]
        return value is True or str(value).strip().lower() == "true"

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
        if checked.concept is not None:
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
        return _finish(out, checked.issues, valid)

    def _answer_codeable(self, concept: dict, checked: list[Checked]) -> dict:
        out: list[dict] = [{"name": "codeableConcept", "valueCodeableConcept": concept}]
        if self.value_set_issues:
            return _finish(out, self.value_set_issues, False)
        issues: list[Issue] = []
        for c in checked:
            issues.extend(c.issues)
        good = [c for c in checked if c.outcome is True]
        ok = True if good else (None if any(c.outcome is None for c in checked) else False)
        if good:
            self._describe(good[0], out)
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


# -- helpers --------------------------------------------------------------------------------------
@dataclass
class _Designation:
    value: str
    language: str | None
    display: bool  # counts as a display (not just another accepted term)
    inactive: bool


def _designations(cs: CodeSystem, concept: Concept, extra: list[dict]) -> list[_Designation]:
    """The concept's display and designations (supplements merged in), plus the value set's own."""
    out = []
    if concept.display:
        out.append(_Designation(concept.display, cs.language, True, False))
    for designation in concept.designations + extra:
        value = designation.get("value")
        if not value:
            continue
        use = (designation.get("use") or {}).get("code")
        inactive = any(
            ext.get("url") == _STANDARDS_STATUS and ext.get("valueCode") in ("withdrawn", "inactive")
            for ext in designation.get("extension", [])
        )
        out.append(
            _Designation(
                value, designation.get("language") or cs.language, use is None or use in _DISPLAY_USES, inactive
            )
        )
    return out


def _accepts(languages: Languages | None, language: str | None) -> bool:
    if languages is None or languages.accepts_any:
        return True
    return any(language_matches(r, language or "en") for r in languages.ranges)


def _or_list(items: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _listed(include: dict, concept: Concept) -> dict | None:
    """The include's own entry for ``concept`` (None when the include lists no such code)."""
    for item in include.get("concept", []):
        if isinstance(item, dict) and item.get("code") == concept.code:
            return item
    return None


def _passes_filters(context: Context, cs: CodeSystem, include: dict, concept: Concept) -> bool:
    return all(
        concept.code in {c.code for c in concepts_for_filter(context, cs, flt)} for flt in include.get("filter", [])
    )


def _holds(cs: CodeSystem | None, code: str, display: str | None) -> bool:
    concept = cs.locate(code) if cs is not None else None
    if concept is None:
        return False
    return not display or display == concept.display or any(d.get("value") == display for d in concept.designations)


def _version_order(version: str | None) -> tuple:
    return (version is not None, sort_key(version or ""))


def _absolute(system: str) -> bool:
    scheme, colon, _ = system.partition(":")
    return bool(colon) and scheme.isalpha()


def _rekey(text: str, key: str) -> Message:
    """A reworded message that keeps its message id."""
    out = Message(text)
    out.key = key
    return out
