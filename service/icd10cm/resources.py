"""The CodeSystem resource that describes each loaded release (concepts are not inlined)."""

from __future__ import annotations

from .codes import CANONICAL_BASE, ICD10CM, ICD10CM_OID
from .hcc import MODEL_NAMES as HCC_MODEL_NAMES
from .store.reader import Release

# When a release is in effect: R5's CodeSystem.effectivePeriod, carried in R4 by its cross-version
# extension; a TerminologyCapabilities version (no such element in any FHIR version) by one of ours.
CODESYSTEM_EFFECTIVE_PERIOD = "http://hl7.org/fhir/5.0/StructureDefinition/extension-CodeSystem.effectivePeriod"
EFFECTIVE_PERIOD = f"{CANONICAL_BASE}/StructureDefinition/release-effective-period"


def period(release: Release) -> dict:
    return {"start": release.effective, "end": release.ends}


_NOTE = "A tabular instructional note that applies to the code"

# code -> (type, uri, description); the order $lookup returns them in.
PROPERTIES = {
    "parent": ("code", "http://hl7.org/fhir/concept-properties#parent", "The code one level up in the tabular"),
    "child": (
        "code",
        "http://hl7.org/fhir/concept-properties#child",
        "A code one level down (7th-character codes are children of their 6-character base)",
    ),
    "notSelectable": (
        "boolean",
        "http://hl7.org/fhir/concept-properties#notSelectable",
        "A header code: not valid for HIPAA transactions; report a code below it",
    ),
    "billable": ("boolean", None, "Valid for HIPAA transactions (a complete code)"),
    "chapter": ("code", None, "The chapter number (chapters are groupings, not codes)"),
    "block": ("code", None, "The block (tabular section) of the code, innermost first, then the blocks spanning it"),
    "inclusionTerm": (
        "string",
        None,
        "A synonym of the title, or a condition classified to this code (not exhaustive)",
    ),
    "includes": ("string", None, f"{_NOTE}: further defines or gives examples of the content"),
    "excludes1": ("string", None, f"{_NOTE}: Excludes1, never coded together (unless the conditions are unrelated)"),
    "excludes2": ("string", None, f"{_NOTE}: Excludes2, not included here; both may be coded together"),
    "codeFirst": ("string", None, f"{_NOTE}: code the underlying condition first"),
    "useAdditionalCode": ("string", None, f"{_NOTE}: use an additional code"),
    "codeAlso": ("string", None, f"{_NOTE}: a second code may be needed; no sequencing implied"),
    "note": ("string", None, f"{_NOTE}: free-text note"),
    "sevenChrNote": ("string", None, "How the 7th character applies to this code"),
    "sevenChrDef": ("code", None, "A valid 7th character (value) and its meaning (description)"),
    "change": (
        "code",
        None,
        "A change of the code across the loaded releases: added, deleted, revised, header or billable "
        "(subproperties say when and between which releases)",
    ),
    **{
        model: (
            "code",
            None,
            f"CMS risk adjustment, {name}: the category the code maps to (description: its label; subproperties: "
            "paymentYear, trumps, trumpedBy), or none when asked for and it maps to none (docs/hcc.md)",
        )
        for model, name in HCC_MODEL_NAMES.items()
    },
}


def codesystem_id(version: str) -> str:
    return f"icd10cm-{version}"


def codesystem_resource(release: Release, default: bool) -> dict:
    meta = release.meta
    april = release.version.endswith("-04")
    title = f"ICD-10-CM FY{meta['fiscal_year']} {'April 1 update' if april else 'October 1 release'}"
    return {
        "resourceType": "CodeSystem",
        "id": codesystem_id(release.version),
        "extension": [{"url": CODESYSTEM_EFFECTIVE_PERIOD, "valuePeriod": period(release)}],
        "url": ICD10CM,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": ICD10CM_OID}],
        "version": release.version,
        "name": "ICD10CM",
        "title": title,
        "status": "active",
        "experimental": False,
        "date": release.effective,
        "publisher": "National Center for Health Statistics (NCHS), CDC",
        "description": (
            f"{title}, in effect from {release.effective} to {release.ends}, loaded from {meta['source_name']} "
            f"(sha256 {meta['source_sha256'][:12]}...). "
            + ("This is the version that answers when a request names none. " if default else "")
            + "Concepts are the codes of the tabular list (categories, subcategories, codes and every "
            "7th-character code); chapters and blocks are properties. Use $lookup and $validate-code."
        ),
        "copyright": "ICD-10-CM is published by the U.S. National Center for Health Statistics (public domain).",
        "caseSensitive": True,
        "hierarchyMeaning": "classified-with",
        "compositional": False,
        "versionNeeded": False,
        "content": "not-present",
        "count": release.code_count,
        "property": [
            {k: v for k, v in (("code", code), ("uri", uri), ("description", description), ("type", kind)) if v}
            for code, (kind, uri, description) in PROPERTIES.items()
        ],
    }
