"""Read an operation's parameters from a GET query or a POSTed ``Parameters`` resource.

Both forms become one flat mapping of name -> list of values (and, for the general engine, the
Parameters entries themselves), checked for shape and size here. The provider that answers binds
them: ICD-10-CM with the schemas of ``icd10cm/binding.py``, the in-memory engine with
``terminology/params.py``.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from flask import request
from marshmallow import EXCLUDE, Schema, fields, validate

from ..errors import InvalidRequest
from ..icd10cm.binding import describe_errors
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


def _well_formed(entry: dict) -> bool:
    """What ParameterSchema accepts, checked by hand first: marshmallow takes 35 us an entry, and a list of
    diagnoses has dozens (the schema still words the errors)."""
    name, resource, part = entry.get("name"), entry.get("resource", {}), entry.get("part", [])
    return (
        isinstance(name, str)
        and name != ""
        and isinstance(resource, dict)
        and isinstance(part, list)
        and all(isinstance(p, dict) for p in part)
    )


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
        errors = None if _well_formed(entry) else _parameter_schema.validate(entry)
        if errors:
            raise InvalidRequest(f"Parameters.parameter[{index}]: {describe_errors(errors)}")
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


def request_parameters(max_parameters: int, entries: list[dict] | None = None) -> dict[str, list]:
    """name -> values of the request's parameters (``entries``: the POSTed body's, when already read)."""
    if request.method == "POST":
        flat = flatten(body_entries(max_parameters) if entries is None else entries)
        # Query parameters such as _format and _pretty still apply to a POST.
        for name, values in query_parameters(max_parameters).items():
            flat.setdefault(name, values)
        return flat
    return query_parameters(max_parameters)
