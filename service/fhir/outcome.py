"""The one shape of OperationOutcome issues, whichever engine or layer found them: as the HL7
terminology ecosystem codes them: tx-issue-type in details, the message id of a keyed HL7 message,
and the FHIRPath expression (not the XPath ``location``, which R4 deprecates and the ecosystem's
comparer refuses where it does not expect it)."""

from __future__ import annotations

from dataclasses import dataclass

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"


@dataclass(frozen=True)
class Issue:
    severity: str  # error | warning | information
    code: str  # OperationOutcome.issue.code
    text: str
    tx_code: str | None = None  # tx-issue-type
    expression: str | None = None

    def render(self) -> dict:
        entry: dict = {}
        key = getattr(self.text, "key", None)
        if key:
            entry["extension"] = [{"url": MESSAGE_ID, "valueString": key}]
        entry.update(severity=self.severity, code=self.code)
        details: dict = {}
        if self.tx_code:
            details["coding"] = [{"system": TX_ISSUE_TYPE, "code": self.tx_code}]
        details["text"] = str(self.text)
        entry["details"] = details
        if self.expression:
            entry["expression"] = [self.expression]
        return entry


def outcome(issues: list[Issue]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [i.render() for i in issues]}
