"""What checking one coding found (``Checked``), and what the pieces of $validate-code have in common
(``ValidatorBase``), shared by the pieces of $validate-code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..fhir.messages import Message
from ..fhir.outcome import Issue
from .codesystem import CodeSystem, Concept
from .context import status_concern

if TYPE_CHECKING:
    from .context import Context
    from .expand import Member
    from .params import TxParams


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


class ValidatorBase:
    """What ``Validator`` and its pieces (``MembershipChecks``, ``DisplayChecks``, ``Answers``) share:
    the state ``Validator.__init__`` sets, and the methods one piece calls in another."""

    context: Context
    params: TxParams
    value_set: dict | None  # None: CodeSystem/$validate-code
    code_system: CodeSystem | None
    value_set_issues: list[Issue]  # the value set itself could not be evaluated
    status_issues: list[Issue]  # the value set's own status, when it calls for care
    membership_only: bool
    _members: dict[tuple[str, str], Member] | None  # the value set's members by (system, code), once evaluated
    _imported: dict[str, dict[tuple[str, str], Member]]  # imported value set -> its members by (system, code)

    def status_issue(self, resource: dict, vurl: str, kind: str, source: dict | None) -> Issue | None:
        """The information a validation carries for a resource it used whose status calls for care (the words
        of ``status_concern``, MSG_DRAFT ...: tx.fhir.org's status-check issues, on no element)."""
        concern = status_concern(resource, source)
        if concern is None:
            return None
        text = self.context.message(f"MSG_{concern.upper()}", vurl, "", kind)
        return Issue("information", "business-rule", text, "status-check")

    def add_status(self, result: Checked, resource: dict, vurl: str, kind: str, source: dict | None) -> None:
        """The status issue of a code system or imported value set a coding is checked in (once per coding)."""
        issue = self.status_issue(resource, vurl, kind, source)
        if issue is not None and issue not in result.issues:
            result.issues.append(issue)

    if TYPE_CHECKING:
        # Defined in validate.py (Validator)
        def _apply_rules(self, system: str, version: str | None) -> str | None: ...
        def _determine_version(self, result: Checked, system: str, stated: str | None) -> str | None: ...
        def _version_check(self, result: Checked, cs: CodeSystem) -> None: ...
        def _report_unknown(self, result: Checked, system: str, version: str | None, quoted: bool) -> None: ...
        def _unknown_code(self, result: Checked, cs: CodeSystem, code: str | None) -> bool: ...
        def _lenient(self) -> bool: ...

        # Defined in membership.py (MembershipChecks)
        def _value_set_name(self) -> str: ...
