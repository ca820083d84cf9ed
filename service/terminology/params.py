"""Operation parameters for the general engine, read from FHIR ``Parameters.parameter`` entries.

The HTTP layer turns a GET query into the same entries (``{"name": n, "valueString": v}``), so
the engine sees one shape. Values are read leniently by type (a boolean may arrive as the text
``true``); a value that cannot be read is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import overload

from ..errors import InvalidRequest
from ..fhir.messages import message
from .codesystem import property_value
from .languages import Languages, well_formed
from .library import split_canonical
from .shapes import check_resource

_MAX_INTEGER = 2_147_483_647
_VERSION_RULES = ("system-version", "check-system-version", "force-system-version")


@dataclass
class TxParams:
    entries: list[dict]
    languages: Languages | None = None  # displayLanguage, else Accept-Language
    accept_language: str | None = None
    display_language_given: bool = False
    too_costly_threshold: int | None = None
    resources: list[dict] = field(default_factory=list)
    # canonical url -> version, from system-version / check-system-version / force-system-version
    version_rules: dict[str, dict[str, str]] = field(default_factory=dict)
    default_value_set_versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(
        cls, entries: list[dict], accept_language: str | None = None, too_costly_threshold: int | str | None = None
    ) -> TxParams:
        """The parameters of a request: its entries, its Accept-Language, and its X-TOO-COSTLY-THRESHOLD."""
        if isinstance(too_costly_threshold, str):
            try:
                too_costly_threshold = int(too_costly_threshold) if too_costly_threshold else None
            except ValueError:
                raise InvalidRequest("X-TOO-COSTLY-THRESHOLD must be an integer") from None
        params = cls(list(entries), accept_language=accept_language, too_costly_threshold=too_costly_threshold)
        for entry in entries:
            if entry.get("name") == "tx-resource":
                resource = entry.get("resource")
                if not isinstance(resource, dict):
                    raise InvalidRequest("tx-resource must carry a resource", expression="tx-resource")
                check_resource(resource, f"tx-resource[{len(params.resources)}]")
                params.resources.append(resource)
        display_language = params.string("displayLanguage")
        if display_language and not well_formed(display_language):
            raise InvalidRequest(
                message("INVALID_DISPLAY_NAME", display_language), issue_code="processing", tx_code="invalid-display"
            )
        if display_language:
            params.languages = Languages.parse(display_language)
            params.display_language_given = True
        elif accept_language:
            params.languages = Languages.parse(accept_language)
        for rule in _VERSION_RULES:
            table = params.version_rules.setdefault(rule, {})
            for value in params.strings(rule):
                url, version = split_canonical(value, None)
                if version:
                    table[url] = version
        for value in params.strings("default-valueset-version"):
            url, version = split_canonical(value, None)
            if version:
                params.default_value_set_versions[url] = version
        return params

    def default(self, name: str, value: dict) -> None:
        """A value set's own expansion parameter: used when the request did not give one."""
        if self.has(name):
            return
        self.entries.append({"name": name, **value})
        if name == "displayLanguage":  # the value set's language outranks Accept-Language
            self.languages = Languages.parse(str(next(iter(value.values()))))

    # -- typed access ---------------------------------------------------------------------------
    def all(self, name: str) -> list[dict]:
        return [e for e in self.entries if e.get("name") == name]

    def has(self, name: str) -> bool:
        return any(e.get("name") == name for e in self.entries)

    def strings(self, name: str) -> list[str]:
        out = []
        for entry in self.all(name):
            _, value = property_value(entry)
            if isinstance(value, str) and not value.strip():
                continue  # FHIR has no empty values: treat as absent
            if value is not None:
                if not isinstance(value, (str, int, float, bool)):
                    raise InvalidRequest(f"Parameter '{name}' must have a primitive value", expression=name)
                out.append(
                    value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
                )
        return out

    def string(self, name: str) -> str | None:
        values = self.strings(name)
        return values[0] if values else None

    @overload
    def boolean(self, name: str, default: bool) -> bool: ...
    @overload
    def boolean(self, name: str, default: None = None) -> bool | None: ...
    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        for entry in self.all(name):
            _, value = property_value(entry)
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise InvalidRequest(f"Parameter '{name}' must be true or false", expression=name)
        return default

    @overload
    def integer(self, name: str, default: int, minimum: int = 0) -> int: ...
    @overload
    def integer(self, name: str, default: None = None, minimum: int = 0) -> int | None: ...
    def integer(self, name: str, default: int | None = None, minimum: int = 0) -> int | None:
        """An integer parameter; FHIR integers are 32-bit."""
        for entry in self.all(name):
            _, value = property_value(entry)
            try:
                number = int(value) if not isinstance(value, bool) else None
            except (TypeError, ValueError):
                number = None
            if number is None or not minimum <= number <= _MAX_INTEGER:
                raise InvalidRequest(
                    f"Parameter '{name}' must be an integer from {minimum} to {_MAX_INTEGER}", expression=name
                )
            return number
        return default

    def complex(self, name: str, key: str) -> dict | None:
        """A complex value (valueCoding, valueCodeableConcept) of parameter ``name``."""
        for entry in self.all(name):
            value = entry.get(key)
            if value is None:
                _, raw = property_value(entry)
                if isinstance(raw, str) and key == "valueCoding":  # system|code in a GET query
                    system, bar, code = raw.partition("|")
                    coding = {"system": system.strip(), "code": code} if bar else {"code": raw}
                    return {k: v for k, v in coding.items() if v}
                raise InvalidRequest(f"Parameter '{name}' must be a {key[5:]}", expression=name)
            if not isinstance(value, dict):
                raise InvalidRequest(f"Parameter '{name}' must be a {key[5:]}", expression=name)
            if key == "valueCoding":
                _check_coding(value, name)
            elif key == "valueCodeableConcept":
                codings = value.get("coding", [])
                if not isinstance(codings, list) or not all(isinstance(c, dict) for c in codings):
                    raise InvalidRequest(f"Parameter '{name}': coding must be an array of Codings", expression=name)
                for index, coding in enumerate(codings):
                    _check_coding(coding, f"{name}.coding[{index}]")
            return value
        return None

    def resource(self, name: str, resource_type: str) -> dict | None:
        for entry in self.all(name):
            value = entry.get("resource")
            if not isinstance(value, dict) or value.get("resourceType") != resource_type:
                raise InvalidRequest(f"Parameter '{name}' must be a {resource_type} resource", expression=name)
            return value
        return None

    # -- version rules ----------------------------------------------------------------------------
    def rule_version(self, rule: str, url: str | None) -> str | None:
        if url is None:
            return None  # rules name code systems by url
        return self.version_rules.get(rule, {}).get(url)


def _check_coding(coding: dict, where: str) -> None:
    for key in ("system", "version", "code", "display"):
        if key in coding and not isinstance(coding[key], str):
            raise InvalidRequest(f"{where}.{key} must be a string", expression=where)


def named_systems(params: TxParams) -> list[str]:
    """The code systems a CodeSystem operation names (system, url, codings), in order, each once."""
    systems = params.strings("system") + params.strings("url")
    for name in ("coding", "codingA", "codingB"):
        coding = params.complex(name, "valueCoding")
        if coding and coding.get("system"):
            systems.append(coding["system"])
    concept = params.complex("codeableConcept", "valueCodeableConcept")
    systems += [c["system"] for c in (concept or {}).get("coding", []) if c.get("system")]
    return list(dict.fromkeys(s.split("|")[0] for s in systems))
