"""ValueSet expansion over any FHIR CodeSystem: compose include/exclude, filters, imports,
hierarchy, paging, languages and designations.

``Expander.members`` evaluates a compose into an ordered list of ``Member`` (code system
concepts or enumerated codes); ``Expander.expand`` renders that list as ``ValueSet.expansion``.
Validation (``validate.py``) uses ``members`` too, so both agree on what is in a value set.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from ..errors import TooCostly, Unprocessable
from ..fhir.r5 import EXPANSION_PROPERTY  # R5 expansion.property, as R4 carries it
from .codesystem import MAX_CONCEPT_DEPTH, CodeSystem, Concept
from .context import Context
from .filters import concepts_for_filter
from .render import contains_entry

UNCLOSED = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed"
# Which server expanded the codes of a system, when an upstream server did.
SOURCE = "https://icd10cm-tx.org/fhir/StructureDefinition/expansion-source"


@dataclass(eq=False)
class Member:
    system: str
    version: str | None
    code: str
    display: str | None
    cs: CodeSystem | None = None
    concept: Concept | None = None
    designations: list[dict] = field(default_factory=list)  # from the value set's concept list
    extensions: list[dict] = field(default_factory=list)
    children: list[Member] = field(default_factory=list)
    show_version: bool = False
    remote: dict | None = None  # the contains entry an upstream server gave, for codes it holds

    @property
    def key(self) -> tuple[str, str]:
        return self.system, self.code

    @property
    def inactive(self) -> bool:
        if self.remote is not None:
            return self.remote.get("inactive") is True
        return self.cs is not None and self.concept is not None and self.cs.is_inactive(self.concept)

    @property
    def abstract(self) -> bool:
        if self.remote is not None:
            return self.remote.get("abstract") is True
        return self.cs is not None and self.concept is not None and self.cs.is_abstract(self.concept)


@dataclass
class Evaluated:
    """A compose evaluated: members in order, and whether a hierarchy can be shown."""

    members: list[Member]
    hierarchical: bool
    whole_system: bool = False  # a single include of a whole code system


class Expander:
    def __init__(self, context: Context):
        self.context = context
        self.params = context.params

    # -- evaluation ---------------------------------------------------------------------------------
    def members(self, value_set: dict, path: tuple[str, ...] = ()) -> Evaluated:
        vurl = self.context.vurl(value_set)
        if vurl in path:
            chain = ", ".join(path[path.index(vurl) :] + (vurl,))
            raise Unprocessable(
                self.context.message("VALUESET_CIRCULAR_REFERENCE", vurl, f"[{chain}]"),
                issue_code="processing",
                tx_code="vs-invalid",
            )
        path = path + (vurl,)
        self.context.see_value_set(value_set)
        compose = value_set.get("compose") or {}
        # One system in several versions: a code is a member once per version (as tx.fhir.org keys them), and
        # each entry says its version; otherwise once.
        key = _versioned_key if _mixes_versions(value_set) else _key
        result: dict[tuple, Member] = {}
        hierarchical = True
        include_inactive = compose.get("inactive", True) is not False
        for include in compose.get("include", []):
            members, whole = self._include(include, value_set, path)
            if not include_inactive:
                members = [m for m in members if not m.inactive]
            hierarchical = hierarchical and whole
            for member in members:
                result.setdefault(key(member), member)
        for exclude in compose.get("exclude", []):
            members, _ = self._include(exclude, value_set, path, excluding=True)
            for member in members:
                result.pop(key(member), None)
        if compose.get("exclude"):
            hierarchical = False
        includes = compose.get("include", [])
        single = len(includes) == 1
        whole = single and not includes[0].get("concept") and not includes[0].get("filter")
        return Evaluated(list(result.values()), hierarchical and single, whole)

    def _include(
        self, include: dict, value_set: dict, path: tuple[str, ...], excluding: bool = False
    ) -> tuple[list[Member], bool]:
        """The members of one include (or exclude) and whether it is a whole code system."""
        imported: list[set[tuple[str, str]]] = []
        imported_members: list[Member] | None = None
        for reference in include.get("valueSet", []):
            other = self.context.resolve_value_set(reference, value_set)
            evaluated = self.members(other, path)
            imported.append({m.key for m in evaluated.members})
            if imported_members is None:
                imported_members = evaluated.members
        system = include.get("system")
        if system is None:
            if imported_members is None:
                return [], False
            keep = set.intersection(*imported) if imported else set()
            return [m for m in imported_members if m.key in keep], False
        upstream = self.context.upstream_for(system)
        if upstream is not None:
            return _keep_imported(self._remote(upstream, include), imported), False
        cs = self.context.code_system_for_include(include, excluding=excluding)
        if cs is None:  # an unknown system was reported (or tolerated) by the context
            members = [
                Member(system, include.get("version"), c["code"], c.get("display"))
                for c in include.get("concept", [])
                if isinstance(c, dict) and "code" in c
            ]
            return _keep_imported(members, imported), False
        whole = not include.get("concept")  # enumerated codes are listed flat, as written
        if include.get("concept"):
            members = self._enumerated(cs, include)
        elif include.get("filter"):
            concepts = None
            for flt in include["filter"]:
                found = concepts_for_filter(self.context, cs, flt)
                if concepts is None:
                    concepts = found
                else:  # every filter holds
                    codes = {c.code for c in found}
                    concepts = [c for c in concepts if c.code in codes]
            members = [self._member(cs, c) for c in concepts or []]
        else:
            if cs.content not in ("complete", "fragment", "example") and not cs.concepts:
                raise Unprocessable(
                    self.context.message("UNKNOWN_CODESYSTEM_EXP", cs.url), issue_code="not-found", tx_code="not-found"
                )
            members = [self._member(cs, c) for c in cs.order]
        return _keep_imported(members, imported), whole

    def _remote(self, upstream, include: dict) -> list[Member]:
        """An include of a code system an upstream server holds, expanded there."""
        context = self.context
        value_set = {"resourceType": "ValueSet", "status": "active", "compose": {"include": [include]}}
        answer = context.upstreams.post_json(
            upstream,
            "ValueSet/$expand",
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "valueSet", "resource": value_set},
                    {"name": "count", "valueInteger": context.too_costly_limit + 1},
                ],
            },
        )
        expansion = answer.get("expansion") if answer.get("resourceType") == "ValueSet" else None
        if not isinstance(expansion, dict):
            issue = (answer.get("issue") or [{}])[0]
            text = (issue.get("details") or {}).get("text") or issue.get("diagnostics") or "no expansion"
            raise Unprocessable(
                f"{upstream.name} could not expand the include of {include['system']}: {text}",
                issue_code=issue.get("code") or "processing",
            )
        contains = _flatten(expansion.get("contains", []))
        if isinstance(expansion.get("total"), int) and expansion["total"] > len(contains):
            raise TooCostly(
                context.message(
                    "VALUESET_TOO_COSTLY", f"{include['system']} (at {upstream.name})", context.too_costly_limit
                )
            )
        for parameter in expansion.get("parameter", []):
            if parameter.get("name") == "used-codesystem" and parameter.get("valueUri"):
                context.note("used-codesystem", parameter["valueUri"])
        context.sources.setdefault(include["system"], upstream.url)
        return [
            Member(
                entry.get("system", include["system"]),
                entry.get("version"),
                entry["code"],
                entry.get("display"),
                remote=entry,
            )
            for entry in contains
            if isinstance(entry.get("code"), str)
        ]

    def _enumerated(self, cs: CodeSystem, include: dict) -> list[Member]:
        members = []
        for item in include["concept"]:
            if not isinstance(item, dict) or not isinstance(item.get("code"), str):
                continue
            concept = cs.locate(item["code"])
            if concept is None:
                continue
            member = self._member(cs, concept)
            if item.get("display"):
                member.display = item["display"]
            member.designations = list(item.get("designation", []))
            member.extensions = list(item.get("extension", []))
            members.append(member)
        return members

    def _member(self, cs: CodeSystem, concept: Concept) -> Member:
        # cs was found by its url (an include's system), so it has one
        return Member(cast(str, cs.url), cs.version, concept.code, concept.display, cs, concept)

    # -- the expansion ------------------------------------------------------------------------------
    def expand(self, value_set: dict) -> dict:
        params = self.params
        evaluated = self.members(value_set)
        self.context.check_supplements()
        members = evaluated.members
        if params.boolean("activeOnly", False):
            members = [m for m in members if not m.inactive]
        if params.boolean("excludeNotForUI", False):
            members = [m for m in members if not m.abstract]
        text = params.string("filter")
        if text:
            members = [m for m in members if self._matches_text(m, text)]
        count = params.integer("count")
        offset = params.integer("offset", 0)
        limit = self.context.too_costly_limit
        if count is None and len(members) > limit:
            raise TooCostly(self.context.message("VALUESET_TOO_COSTLY", self.context.vurl(value_set), limit))
        if count is not None:
            count = min(count, limit)  # the largest page, as for ICD-10-CM (docs/valuesets.md)
        hierarchical = (
            evaluated.hierarchical
            and not params.boolean("excludeNested", False)
            and count is None
            and not offset
            and not (text and evaluated.whole_system)
        )
        roots = _nest(members) if hierarchical else members
        window = roots[offset : offset + count] if count is not None else roots[offset:]
        expansion: dict = {
            "identifier": f"urn:uuid:{uuid.uuid4()}",
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "total": len(members),
        }
        if params.has("offset"):
            expansion["offset"] = offset
        expansion["parameter"] = self._echo() + self.context.used_parameters()
        show_versions = _mixes_versions(value_set)
        for member in members:
            member.show_version = show_versions
        declared: dict[str, str | None] = {}
        contains = [self._render(m, declared) for m in window]
        expansion_extensions = []
        if self.context.fragments:
            expansion_extensions += [{"url": UNCLOSED, "valueBoolean": True}] + [
                {
                    "url": f"{UNCLOSED}-reason",
                    "valueString": f"This extension is based on a fragment of the code system {url}",
                }
                for url in self.context.fragments
            ]
        expansion_extensions += [
            {"url": SOURCE, "extension": [{"url": "system", "valueUri": system}, {"url": "server", "valueUrl": server}]}
            for system, server in self.context.sources.items()
        ]
        if declared:
            expansion_extensions += [
                {
                    "url": EXPANSION_PROPERTY,
                    "extension": [{"url": "code", "valueCode": code}]
                    + ([{"url": "uri", "valueUri": uri}] if uri else []),
                }
                for code, uri in declared.items()
            ]
        if expansion_extensions:
            expansion["extension"] = expansion_extensions
        if contains:
            expansion["contains"] = contains
        kept = (
            ("expansion", "text")
            if params.boolean("includeDefinition", False)
            else ("expansion", "text", "id", "compose", "description", "extension", "contained")
        )
        body = {k: v for k, v in value_set.items() if k not in kept}
        body["expansion"] = expansion
        return body

    def _matches_text(self, member: Member, text: str) -> bool:
        words = text.lower().split()
        haystack = " ".join(
            filter(
                None,
                [member.code, member.display]
                + [d.get("value", "") for d in (member.concept.designations if member.concept else [])],
            )
        ).lower()
        return all(w in haystack for w in words)

    def _echo(self) -> list[dict]:
        """The request parameters an expansion reports having used (as the ecosystem expects them)."""
        out = []
        for entry in self.params.entries:
            name = entry.get("name")
            value = {k: v for k, v in entry.items() if k.startswith("value")}
            if name in _ECHOED and value and not (isinstance(v := next(iter(value.values())), str) and not v.strip()):
                out.append({"name": name, **value})
        languages = self.params.languages
        if languages is not None:
            out.append({"name": "displayLanguage", "valueCode": languages.echo})
        return out

    def _render(self, member: Member, declared: dict) -> dict:
        entry = contains_entry(self.context, member, declared)
        if member.children:
            entry["contains"] = [self._render(c, declared) for c in member.children]
        return entry


def _key(member: Member) -> tuple:
    return member.key


def _versioned_key(member: Member) -> tuple:
    return member.system, member.version, member.code


def _mixes_versions(value_set: dict) -> bool:
    """Entries carry their version when the compose names one system with different versions."""
    versions: dict[str, set] = {}
    compose = value_set.get("compose") or {}
    for item in compose.get("include", []) + compose.get("exclude", []):
        if item.get("system"):
            versions.setdefault(item["system"], set()).add(item.get("version"))
    return any(len(v) > 1 for v in versions.values())


_ECHOED = {
    "filter",
    "count",
    "offset",
    "date",
    "activeOnly",
    "includeDesignations",
    "includeDefinition",
    "excludeNested",
    "excludeNotForUI",
    "excludePostCoordinated",
    "designation",
}


def _flatten(contains: list) -> list[dict]:
    out = []
    for entry in contains:
        if isinstance(entry, dict):
            out.append(entry)
            out.extend(_flatten(entry.get("contains", [])))
    return out


def _keep_imported(members: list[Member], imported: list[set]) -> list[Member]:
    for keys in imported:
        members = [m for m in members if m.key in keys]
    return members


def _nest(members: list[Member]) -> list[Member]:
    """Place each member under its parent when that is a member too; the others are roots."""
    by_code = {(m.system, m.code): m for m in members}
    for m in members:
        m.children = []
    roots = []
    for m in members:
        parent = None
        if m.concept is not None:
            for code in m.concept.parents:
                parent = by_code.get((m.system, code))
                if parent is not None:
                    break
        if parent is None:
            roots.append(m)
        else:
            parent.children.append(m)
    level, depth = roots, 0
    while level:  # hierarchies made by parent properties can be deeper than any nesting of concepts
        depth += 1
        if depth > MAX_CONCEPT_DEPTH:
            raise Unprocessable(
                f"The expansion would nest codes more than {MAX_CONCEPT_DEPTH} levels deep, more "
                "than this server handles; ask for it flat (excludeNested=true) or by pages (count)"
            )
        level = [child for m in level for child in m.children]
    return roots
