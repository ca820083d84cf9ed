"""Cheap structural checks of resources sent with a request (tx-resource, valueSet).

Files in ``codesystems/`` and ``valuesets/`` are validated with fhir.resources at start; a
request's resources are checked here instead (fhir.resources is far too slow for the request
path), for the structure the engine relies on, so that a malformed one is a 400, not a 500.
"""

from __future__ import annotations

from ..errors import InvalidRequest


def _fail(where: str, what: str):
    raise InvalidRequest(f"{where}: {what}")


def _list_of_dicts(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        _fail(where, "must be an array of objects")
    return value


def _string(value, where: str, required: bool = False) -> None:
    if value is None:
        if required:
            _fail(where, "is required")
        return
    if not isinstance(value, str):
        _fail(where, "must be a string")


def check_value_set(resource: dict, where: str = "ValueSet") -> None:
    for key in ("url", "version", "language"):
        _string(resource.get(key), f"{where}.{key}")
    compose = resource.get("compose")
    if compose is None:
        if "expansion" not in resource:
            _fail(where, "has no compose, so there is nothing to expand")
        return
    if not isinstance(compose, dict):
        _fail(f"{where}.compose", "must be an object")
    for part in ("include", "exclude"):
        for index, item in enumerate(_list_of_dicts(compose.get(part), f"{where}.compose.{part}")):
            at = f"{where}.compose.{part}[{index}]"
            _string(item.get("system"), f"{at}.system")
            _string(item.get("version"), f"{at}.version")
            value_sets = item.get("valueSet", [])
            if not isinstance(value_sets, list) or not all(isinstance(v, str) for v in value_sets):
                _fail(f"{at}.valueSet", "must be an array of canonical URLs")
            for c_index, concept in enumerate(_list_of_dicts(item.get("concept"), f"{at}.concept")):
                _string(concept.get("code"), f"{at}.concept[{c_index}].code", required=True)
                _string(concept.get("display"), f"{at}.concept[{c_index}].display")
            for f_index, flt in enumerate(_list_of_dicts(item.get("filter"), f"{at}.filter")):
                _string(flt.get("property"), f"{at}.filter[{f_index}].property", required=True)
                _string(flt.get("op"), f"{at}.filter[{f_index}].op")
                _string(flt.get("value"), f"{at}.filter[{f_index}].value")
            if not item.get("system") and not value_sets:
                _fail(at, "needs a system or a valueSet")
    for index, contained in enumerate(_list_of_dicts(resource.get("contained"), f"{where}.contained")):
        if contained.get("resourceType") == "ValueSet":
            check_value_set(contained, f"{where}.contained[{index}]")


def check_code_system(resource: dict, where: str = "CodeSystem") -> None:
    for key in ("url", "version", "content", "language", "supplements"):
        _string(resource.get(key), f"{where}.{key}")

    def concepts(items, at: str) -> None:
        for index, concept in enumerate(_list_of_dicts(items, at)):
            _string(concept.get("code"), f"{at}[{index}].code", required=True)
            _string(concept.get("display"), f"{at}[{index}].display")
            _list_of_dicts(concept.get("designation"), f"{at}[{index}].designation")
            _list_of_dicts(concept.get("property"), f"{at}[{index}].property")
            concepts(concept.get("concept"), f"{at}[{index}].concept")

    _list_of_dicts(resource.get("property"), f"{where}.property")
    concepts(resource.get("concept"), f"{where}.concept")


def check_resource(resource: dict, where: str) -> None:
    kind = resource.get("resourceType")
    if kind == "ValueSet":
        check_value_set(resource, where)
    elif kind == "CodeSystem":
        check_code_system(resource, where)
    elif kind == "ConceptMap":
        _list_of_dicts(resource.get("group"), f"{where}.group")
    else:
        _fail(where, f"must be a CodeSystem, ValueSet or ConceptMap, not {kind!r}")
