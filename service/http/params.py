"""Bind operation parameters from a GET query or a POSTed ``Parameters`` resource.

Both forms become one flat mapping of name -> list of values, which a marshmallow schema per
operation (names as in the FHIR OperationDefinitions) checks and converts. Unknown parameters
are ignored, as FHIR asks of servers.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import cast
from urllib.parse import parse_qs

from flask import request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..errors import InvalidRequest
from ..icd10cm.guidance.builder import MODES
from ..icd10cm.model import CodeableConcept, Coding
from .fhir import json_body

_VALUE_PREFIX = "value"


class ParameterSchema(Schema):
    """One ``Parameters.parameter``: a name and at most one of value[x], resource, part."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1))
    resource = fields.Dict()
    part = fields.List(fields.Dict())


_parameter_schema = ParameterSchema()


def body_entries(max_parameters: int) -> list[dict]:
    """The entries of a POSTed Parameters resource, each checked for shape."""
    body = json_body()
    if body.get("resourceType") != "Parameters":
        raise InvalidRequest(f"The body must be a Parameters resource, not {body.get('resourceType')!r}")
    entries = body.get("parameter", [])
    if not isinstance(entries, list):
        raise InvalidRequest("Parameters.parameter must be an array")
    if len(entries) > max_parameters:
        raise InvalidRequest(f"Too many parameters ({len(entries)}; at most {max_parameters})")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidRequest(f"Parameters.parameter[{index}] must be an object")
        errors = _parameter_schema.validate(entry)
        if errors:
            raise InvalidRequest(f"Parameters.parameter[{index}]: {_describe(errors)}")
        if sum(1 for k in entry if k.startswith(_VALUE_PREFIX)) > 1:
            raise InvalidRequest(f"Parameters.parameter[{index}] ({entry['name']}) has more than one value[x]")
    return entries


def flatten(entries: list[dict]) -> dict[str, list]:
    """name -> values (value[x], else resource, else part) of Parameters entries."""
    flat: dict[str, list] = {}
    for entry in entries:
        values = [v for k, v in entry.items() if k.startswith(_VALUE_PREFIX)]
        value = values[0] if values else entry.get("resource", entry.get("part"))
        flat.setdefault(entry["name"], []).append(value)
    return flat


def query_entries(max_parameters: int) -> list[dict]:
    """A GET query as Parameters entries (every value a string)."""
    return [
        {"name": name, "valueString": value}
        for name, values in query_parameters(max_parameters).items()
        for value in values
    ]


def request_entries(max_parameters: int) -> list[dict]:
    """The operation's parameters as Parameters entries, from the POST body or the GET query."""
    if request.method == "POST":
        return body_entries(max_parameters) + query_entries(max_parameters)
    return query_entries(max_parameters)


def query_parameters(max_parameters: int) -> dict[str, list]:
    return parse_query(request.environ.get("QUERY_STRING", ""), max_parameters)


def parse_query(query: str, max_parameters: int) -> dict[str, list]:
    """name -> values of a query string (the same decoding as request.args, without the MultiDict)."""
    if query.count("&") >= max_parameters:
        raise InvalidRequest(f"Too many parameters (at most {max_parameters})")
    return parse_qs(query, keep_blank_values=True)


def request_parameters(max_parameters: int) -> dict[str, list]:
    if request.method == "POST":
        flat = flatten(body_entries(max_parameters))
        # Query parameters such as _format and _pretty still apply to a POST.
        for name, values in query_parameters(max_parameters).items():
            flat.setdefault(name, values)
        return flat
    return query_parameters(max_parameters)


def _describe(errors: dict) -> str:
    return "; ".join(
        f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
        for field, messages in errors.items()
    )


class CodingField(fields.Field):
    """A FHIR Coding: a JSON object in a POST, or ``system|code`` in a GET query."""

    def _deserialize(self, value, attr, data, **kwargs) -> Coding:
        if isinstance(value, str):
            system, bar, code = value.partition("|")
            if not bar:
                raise ValidationError("a Coding in a URL is written system|code")
            return Coding(system or None, code or None)
        if not isinstance(value, dict):
            raise ValidationError("must be a Coding")
        strings = {k: value.get(k) for k in ("system", "code", "version", "display")}
        if any(v is not None and not isinstance(v, str) for v in strings.values()):
            raise ValidationError("system, code, version and display of a Coding must be strings")
        return Coding(**strings)


class CodeableConceptField(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs) -> CodeableConcept:
        if not isinstance(value, dict):
            raise ValidationError("must be a CodeableConcept (send it in a POST Parameters body)")
        codings, text = value.get("coding", []), value.get("text")
        if not isinstance(codings, list) or not (text is None or isinstance(text, str)):
            raise ValidationError("coding must be an array and text a string")
        coding_field = CodingField()
        return CodeableConcept([cast(Coding, coding_field.deserialize(c)) for c in codings], text)


_DATE_TIME = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?")


class DateTimeField(fields.String):
    """A FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD, or with a time)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not _DATE_TIME.fullmatch(text):
            raise ValidationError("must be a FHIR date or dateTime, such as 2026-05-01")
        try:
            # Check the calendar: 2026-02-30 has the right shape but is no date.
            dt.date(int(text[:4]), int(text[5:7] or 1), int(text[8:10] or 1))
        except ValueError:
            raise ValidationError("is not a calendar date") from None
        return text


# How much guidance to return: all (default), rules (rule-derived only) or none.
GUIDANCE = fields.String(validate=validate.OneOf(MODES))


class OperationSchema(Schema):
    """The parameters of one operation, as marshmallow fields named as in the OperationDefinition.

    ``bind`` deserializes only the parameters a request carries, each with its field (a request
    carries two or three of a dozen parameters, and this runs on every request).
    """

    repeatable: frozenset[str] = frozenset()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Parameter name (as FHIR spells it, e.g. system-version) -> field.
        self.by_name = {field.data_key or name: field for name, field in self.fields.items()}

    def bind(self, data: dict[str, list]) -> dict:
        bound: dict = {}
        errors: dict[str, object] = {}
        for name, values in data.items():
            field = self.by_name.get(name)
            if field is None:
                continue  # unknown parameters are ignored
            try:
                if name in self.repeatable:
                    bound[name] = field.deserialize(values)
                elif len(values) > 1:
                    errors[name] = "may be given only once"
                else:
                    bound[name] = field.deserialize(values[0])
            except ValidationError as error:
                errors[name] = error.messages
        if errors:
            raise InvalidRequest(f"Invalid parameter: {_describe(errors)}")
        return bound


class LookupSchema(OperationSchema):
    repeatable = frozenset({"property"})
    code = fields.String()
    system = fields.String()
    version = fields.String()
    coding = CodingField()
    date = DateTimeField()
    displayLanguage = fields.String()
    property = fields.List(fields.String())
    guidance = GUIDANCE


class CodeSystemValidateCodeSchema(OperationSchema):
    url = fields.String()
    system = fields.String()  # not in R4 for CodeSystem/$validate-code, but clients send it
    code = fields.String()
    version = fields.String()
    display = fields.String()
    coding = CodingField()
    codeableConcept = CodeableConceptField()
    date = DateTimeField()
    abstract = fields.Boolean()
    displayLanguage = fields.String()
    guidance = GUIDANCE


class ResourceField(fields.Field):
    """A resource sent in a POST Parameters body (``resource``)."""

    def __init__(self, resource_type: str, **kwargs):
        super().__init__(**kwargs)
        self.resource_type = resource_type

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        if not isinstance(value, dict) or value.get("resourceType") != self.resource_type:
            raise ValidationError(f"must be a {self.resource_type} resource (send it in a POST Parameters body)")
        return value


# FHIR integers are 32-bit; a larger count is cut to the largest page (max_expansion), never refused.
_COUNT = validate.Range(min=0, max=2_147_483_647)


class ExpandSchema(OperationSchema):
    repeatable = frozenset({"property", "system-version", "check-system-version", "force-system-version"})
    url = fields.String()
    valueSet = ResourceField("ValueSet")
    valueSetVersion = fields.String()
    filter = fields.String()
    date = DateTimeField()
    count = fields.Integer(strict=False, validate=_COUNT)
    offset = fields.Integer(strict=False, validate=_COUNT)
    activeOnly = fields.Boolean()
    includeDesignations = fields.Boolean()
    includeDefinition = fields.Boolean()
    excludeNested = fields.Boolean()
    excludeNotForUI = fields.Boolean()
    displayLanguage = fields.String()
    property = fields.List(fields.String())
    system_version = fields.List(fields.String(), data_key="system-version")
    check_system_version = fields.List(fields.String(), data_key="check-system-version")
    force_system_version = fields.List(fields.String(), data_key="force-system-version")


class ValueSetValidateCodeSchema(CodeSystemValidateCodeSchema):
    valueSet = ResourceField("ValueSet")
    valueSetVersion = fields.String()
    systemVersion = fields.String()


class SubsumesSchema(OperationSchema):
    codeA = fields.String()
    codeB = fields.String()
    system = fields.String()
    version = fields.String()
    codingA = CodingField()
    codingB = CodingField()


def bind(schema: OperationSchema, max_parameters: int) -> dict:
    return schema.bind(request_parameters(max_parameters))


LOOKUP = LookupSchema()
EXPAND = ExpandSchema()
VALUESET_VALIDATE_CODE = ValueSetValidateCodeSchema()
SUBSUMES = SubsumesSchema()
CODESYSTEM_VALIDATE_CODE = CodeSystemValidateCodeSchema()
