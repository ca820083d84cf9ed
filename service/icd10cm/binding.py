"""The parameters of ICD-10-CM's operations, as marshmallow schemas named as in the FHIR
OperationDefinitions: each checks and converts the values a request carries (``flat``: name -> values,
from a GET query or a POSTed Parameters). Unknown parameters are ignored, as FHIR asks of servers.
The OpenAPI description of the service is made from these schemas too (service/http/openapi.py)."""

from __future__ import annotations

import datetime as dt
import re
from typing import cast

from marshmallow import Schema, ValidationError, fields, validate

from ..errors import InvalidRequest
from .guidance.builder import MODES
from .model import CodeableConcept, Coding


def describe_errors(errors: dict) -> str:
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
            raise InvalidRequest(f"Invalid parameter: {describe_errors(errors)}")
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


class TranslateSchema(OperationSchema):
    """ConceptMap/$translate from one ICD-10-CM release to another (R4 names, and R5's sourceCode and
    sourceCoding); ``targetVersion`` is ours: R4 names no target version, so without a map's url it picks
    the release to translate to (default: the default release)."""

    url = fields.String()
    conceptMapVersion = fields.String()
    code = fields.String()
    sourceCode = fields.String()
    system = fields.String()
    sourceSystem = fields.String()
    version = fields.String()
    coding = CodingField()
    sourceCoding = CodingField()
    targetsystem = fields.String()
    targetSystem = fields.String()
    targetVersion = fields.String()
    reverse = fields.Boolean()


class ValidateDiagnosesSchema(OperationSchema):
    """CodeSystem/$validate-diagnoses: an ordered list of codings (the first is the principal or first-listed
    diagnosis), or a Claim, or a Bundle of an Encounter and its Conditions."""

    repeatable = frozenset({"coding"})
    coding = fields.List(CodingField())
    setting = fields.String(validate=validate.OneOf(("inpatient", "outpatient")))
    date = DateTimeField()
    version = fields.String()
    claim = ResourceField("Claim")
    bundle = ResourceField("Bundle")


LOOKUP = LookupSchema()
VALIDATE_DIAGNOSES = ValidateDiagnosesSchema()
TRANSLATE = TranslateSchema()
EXPAND = ExpandSchema()
VALUESET_VALIDATE_CODE = ValueSetValidateCodeSchema()
SUBSUMES = SubsumesSchema()
CODESYSTEM_VALIDATE_CODE = CodeSystemValidateCodeSchema()
