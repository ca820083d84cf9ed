"""What one operation sees and records: the resources (server, cache, tx-resource), the
parameters, the code systems and value sets it used, and the version rules it applies."""

from __future__ import annotations

from ..errors import NotFound, Unprocessable
from ..fhir.messages import message, plural
from .codesystem import STANDARDS_STATUS, CodeSystem
from .library import Library, split_canonical
from .params import TxParams
from .versions import matches, versions_text

SUPPLEMENT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/valueset-supplement"
EXPANSION_PARAMETER_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter",
    "http://hl7.org/fhir/tools/StructureDefinition/valueset-expansion-parameter",
}


class Context:
    def __init__(self, library: Library, params: TxParams, too_costly_limit: int = 1000, upstreams=None):
        self.library = library
        self.upstreams = upstreams  # servers for the code systems this one does not hold
        self.sources: dict[str, str] = {}  # system -> upstream server that expanded its codes
        self.params = params
        self.too_costly_limit = params.too_costly_threshold or too_costly_limit
        self.used: list[tuple[str, str]] = []  # (parameter name, value), in order, once each
        self.fragments: list[str | None] = []  # fragment code systems used (by url): the expansion is not closed
        self.required_supplements: set[str] = set(params.strings("useSupplement"))
        self._contained: list[dict] = []
        self.source: dict | None = None  # the value set expanded or validated against (the first one seen)

    message = staticmethod(message)
    plural = staticmethod(plural)

    def note(self, name: str, value: str) -> None:
        if (name, value) not in self.used:
            self.used.append((name, value))

    def check_status(self, resource: dict, vurl: str) -> None:
        """The warning an expansion carries for a code system or value set it used whose status calls for care
        (``status_concern``, against the value set expanded): ``warning-draft`` ..."""
        concern = status_concern(resource, self.source)
        if concern is not None:
            self.note(f"warning-{concern}", vurl)

    def used_parameters(self) -> list[dict]:
        """What was used (used-codesystem ...) and the version rules applied, for an expansion."""
        return [{"name": name, "valueUri": value} for name, value in self.used]

    @staticmethod
    def vurl(resource: dict) -> str:
        url = resource.get("url") or f"#{resource.get('id', '')}"
        return f"{url}|{resource['version']}" if resource.get("version") else url

    # -- value sets --------------------------------------------------------------------------------
    def see_value_set(self, value_set: dict) -> None:
        if self.source is None:
            self.source = value_set
        self.check_status(value_set, self.vurl(value_set))
        for ext in value_set.get("extension", []):
            if ext.get("url") == SUPPLEMENT_EXTENSION:
                value = ext.get("valueCanonical") or ext.get("valueUri")
                if value:
                    self.required_supplements.add(value)
        self._contained.extend(value_set.get("contained", []))
        for ext in (value_set.get("compose") or {}).get("extension", []):
            if ext.get("url") in EXPANSION_PARAMETER_EXTENSIONS:
                parts = {e.get("url"): e for e in ext.get("extension", [])}
                name = parts.get("name", {}).get("valueCode") or parts.get("name", {}).get("valueString")
                value = {k: v for k, v in parts.get("value", {}).items() if k.startswith("value")}
                if name and value:
                    self.params.default(name, value)

    def value_set(self, url: str, version: str | None = None) -> dict | None:
        url, version = split_canonical(url, version)
        if version is None:
            version = self.params.default_value_set_versions.get(url)
            if version:
                self.note("default-valueset-version", f"{url}|{version}")
        return self.library.value_set(url, version)

    def resolve_value_set(self, reference: str, referrer: dict) -> dict:
        if reference.startswith("#"):
            for resource in referrer.get("contained", []) + self._contained:
                if resource.get("resourceType") == "ValueSet" and resource.get("id") == reference[1:]:
                    return resource
        found = self.value_set(reference)
        if found is None:
            url, version = split_canonical(reference, None)
            version = version or self.params.default_value_set_versions.get(url)
            if version:
                raise NotFound(self.message("VS_EXP_IMPORT_UNK_PINNED", url, version), tx_code="not-found")
            raise NotFound(self.message("Unable_to_resolve_value_Set_", reference), tx_code="not-found")
        self.note("used-valueset", self.vurl(found))
        self.check_status(found, self.vurl(found))
        return found

    def upstream_for(self, system: str):
        """The upstream server for a code system this server does not hold (None if held or unrouted)."""
        if not self.upstreams or self.library.has_code_system(system):
            return None
        return self.upstreams.for_system(system)

    # -- code systems ------------------------------------------------------------------------------
    def include_version(self, url: str, stated: str | None) -> str | None:
        """The version of ``url`` to use where a value set states ``stated`` (or nothing); a version
        rule that decides it is reported in the expansion."""
        rules = (
            ("force-system-version",) if stated else ("force-system-version", "system-version", "check-system-version")
        )
        for rule in rules:
            version = self.params.rule_version(rule, url)
            if version:
                self.note(rule, f"{url}|{version}")
                return version
        return stated

    def code_system(self, url: str, version: str | None = None) -> CodeSystem | None:
        cs = self.library.code_system(url, version)
        if cs is None or cs.is_supplement:
            return cs
        supplements = tuple(s for s in self.library.supplements_for(cs.url) if _wanted(s, self.required_supplements))
        return cs.with_supplements(supplements)

    def code_system_for_include(self, include: dict, excluding: bool = False) -> CodeSystem | None:
        url = include["system"]
        version = self.include_version(url, include.get("version"))
        cs = self.code_system(url, version)
        if cs is None:
            known = self.library.code_system_versions(url)
            if version and (known or self.library.has_code_system(url)):
                raise Unprocessable(
                    self.message("UNKNOWN_CODESYSTEM_VERSION_EXP", url, version, versions_text(known)),
                    issue_code="not-found",
                    tx_code="not-found",
                )
            if version:
                raise Unprocessable(
                    self.message("UNKNOWN_CODESYSTEM_VERSION_EXP_NONE", url, version),
                    issue_code="not-found",
                    tx_code="not-found",
                )
            raise Unprocessable(
                self.message("UNKNOWN_CODESYSTEM_EXP", url), issue_code="not-found", tx_code="not-found"
            )
        self.check_version(cs)
        self.note("used-codesystem", cs.vurl)
        self.check_status(cs.resource, cs.vurl)
        if not excluding:
            if cs.content == "fragment":
                self.note("used-fragment", cs.vurl)
                if cs.url not in self.fragments:
                    self.fragments.append(cs.url)
            for supplement in cs.supplements:
                self.note("used-supplement", supplement.vurl)
        return cs

    def check_version(self, cs: CodeSystem) -> None:
        wanted = self.params.rule_version("check-system-version", cs.url)
        if wanted and not matches(wanted, cs.version):
            raise Unprocessable(
                self.message("VALUESET_VERSION_CHECK", cs.url, cs.version, wanted),
                issue_code="exception",
                tx_code="version-error",
            )

    def check_supplements(self) -> None:
        """Every supplement asked for (useSupplement, the valueset-supplement extension) must exist."""
        missing = sorted(
            s for s in self.required_supplements if not getattr(self.library.code_system(s), "is_supplement", False)
        )
        if missing:
            raise NotFound(
                self.plural("VALUESET_SUPPLEMENT_MISSING", len(missing), ", ".join(missing)), tx_code="not-found"
            )


def _wanted(supplement: CodeSystem, required: set[str]) -> bool:
    return supplement.url in required or supplement.vurl in required


def status_concern(resource: dict, source: dict | None) -> str | None:
    """What a resource's status calls for care about, when a request uses it for ``source`` (the value set
    expanded or validated against): one word, the strongest of ``withdrawn`` or ``deprecated``
    (structuredefinition-standards-status), ``retired``, ``experimental`` and ``draft``; experimental and draft
    only when the source is not so itself (an experimental value set may use experimental content without
    a word). None: nothing to say. As tx.fhir.org decides it, for expansions and validations alike."""
    standards = _standards_status(resource)
    source = source or {}
    if standards in ("deprecated", "withdrawn"):
        return standards
    if resource.get("status") == "retired":
        return "retired"
    if resource.get("experimental") is True and source.get("experimental") is not True:
        return "experimental"
    if "draft" in (resource.get("status"), standards) and "draft" not in (
        source.get("status"),
        _standards_status(source),
    ):
        return "draft"
    return None


def _standards_status(resource: dict) -> str | None:
    return next((e.get("valueCode") for e in resource.get("extension", ()) if e.get("url") == STANDARDS_STATUS), None)
