"""Value set membership for $validate-code: include by include (with the code system version each picks),
excludes, imported value sets, includes answered by an upstream server."""

from __future__ import annotations

from typing import cast

from ..errors import NotFound
from ..fhir.outcome import Issue
from .checked import Checked, ValidatorBase
from .codesystem import STANDARDS_STATUS, CodeSystem, Concept
from .context import Context
from .expand import Expander, Member
from .filters import concepts_for_filter
from .library import split_canonical
from .versions import sort_key

_VS_DEPRECATED = "http://hl7.org/fhir/StructureDefinition/valueset-deprecated"


class MembershipChecks(ValidatorBase):
    """Is the coding in the value set? (Mixed into ``Validator``.)"""

    @property
    def _vs(self) -> dict:
        """The value set, for what runs only when there is one (membership, the value set's members)."""
        return cast(dict, self.value_set)

    # -- value set membership ---------------------------------------------------------------------
    def _membership(self, result: Checked, system: str, code: str | None) -> bool | None:
        compose = self._vs.get("compose") or {}
        found = False
        for include in self._includes_for(system, code, result.coding):
            imports = self._imports_status(result, include)
            if include.get("system") is None:
                member = self._in_imports(include, system, code)
                if member is None:
                    continue
                result.cs, result.concept = member.cs, member.concept
                result.version = member.version
                if member.cs is not None:  # checked in the imported value set: its code system's status too
                    self.add_status(
                        result, member.cs.resource, member.cs.vurl, "CodeSystem", imports[0] if imports else None
                    )
                if (
                    member.cs is not None  # (a member with a concept has its code system)
                    and member.concept is not None
                    and not self._allowed(result, member.cs, member.concept)
                ):
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
            self.add_status(result, cs.resource, cs.vurl, "CodeSystem", self._vs)
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

    def _imports_status(self, result: Checked, include: dict) -> list[dict]:
        """The value sets an include imports, each with its status issue (as tx.fhir.org checks them in turn)."""
        imports = []
        for reference in include.get("valueSet", []):
            imported = self.context.library.value_set(*split_canonical(reference, None))
            if imported is not None:
                self.add_status(result, imported, self.context.vurl(imported), "ValueSet", self._vs)
                imports.append(imported)
        return imports

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
        includes = [i for i in (self._vs.get("compose") or {}).get("include", []) if isinstance(i, dict)]
        imports = [i for i in includes if i.get("system") is None and i.get("valueSet")]
        same = [i for i in includes if i.get("system") == system]
        coding_version = coding.get("version")
        exact = [i for i in same if coding_version and i.get("version") == coding_version]
        if exact:
            same = exact
        elif not coding_version and code is not None:
            versions = {i["version"] for i in same if i.get("version")}
            if len(versions) > 1:
                # Several versions are included: those that know the code, in the compose's order (the first
                # that holds it answers, as tx.fhir.org's checker takes the includes).
                holding = {
                    v for v in versions if _holds(self.context.code_system(system, v), code, coding.get("display"))
                }
                if holding:
                    return [i for i in same if i.get("version") in holding or not i.get("version")] + imports
        same.sort(key=lambda i: _version_order(i.get("version")), reverse=True)
        return same + imports

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

    def _in_imports(self, include: dict, system: str, code: str | None) -> Member | None:
        """The member for (system, code) if every value set the include imports holds it, else None."""
        member = None
        for reference in include.get("valueSet", []):
            found = self._imported_member(reference, system, code)
            if found is None:
                return None
            member = member or found
        return member

    def _imported_member(self, reference: str, system: str, code: str | None) -> Member | None:
        if reference not in self._imported:
            other = self.context.resolve_value_set(reference, self._vs)
            members = Expander(self.context).members(other, (self.context.vurl(self._vs),)).members
            by_key = {m.key: m for m in members}
            for m in members:  # codes of case-insensitive systems also match in any case
                if m.cs is not None and not m.cs.case_sensitive:
                    by_key.setdefault((m.system, m.code.lower()), m)
            self._imported[reference] = by_key
        table = self._imported[reference]
        if code is None:
            return None  # every member has a code
        return table.get((system, code)) or (table.get((system, code.lower())) if code else None)

    def _excluded(self, exclude: dict, system: str, code: str) -> bool:
        if exclude.get("system") not in (None, system):
            return False
        if exclude.get("system") == system:
            cs = self.context.code_system(system, self._apply_rules(system, exclude.get("version")))
            concept = cs.locate(code) if cs is not None else None
            if cs is None or concept is None:
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
        if not listed or result.cs is None or result.concept is None:  # (it has both: it is in the value set)
            return
        status = None
        for ext in listed.get("extension", []):
            if ext.get("url") == _VS_DEPRECATED and (ext.get("valueBoolean") is True or ext.get("valueCode") == "true"):
                status = "deprecated"
            elif ext.get("url") == STANDARDS_STATUS and ext.get("valueCode") in ("deprecated", "withdrawn"):
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

    # -- the value set's own members ---------------------------------------------------------------

    def _value_set_members(self) -> dict[tuple[str, str], Member]:
        if self._members is None:
            self._members = {}
            try:
                evaluated = Expander(self.context).members(self._vs)
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
        return self.context.vurl(self._vs) if self._vs.get("url") else "(unidentified)"


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
