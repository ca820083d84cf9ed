"""Any FHIR CodeSystem resource, indexed for terminology operations.

A ``CodeSystem`` wraps the resource dict (R4 JSON): concepts by code (case-folded when the
system is case-insensitive), the hierarchy from nested concepts and from ``parent`` /
``subsumedBy`` properties, and the well-known concept properties (status, inactive,
notSelectable) whichever way a resource spells them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import InvalidRequest

STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"

CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties"
# The deepest concept hierarchy served: an answer nests one level per concept level (an expansion's contains,
# a lookup's children), and JSON and XML writers have recursion limits of their own (orjson's is 255 levels).
MAX_CONCEPT_DEPTH = 100
_NOT_SELECTABLE_URIS = {f"{CONCEPT_PROPERTIES}#notSelectable", "http://hl7.org/fhir/concept-properties#not-selectable"}
_INACTIVE_STATUSES = {"retired", "inactive"}
_PARENT_PROPERTIES = {"parent", "subsumedBy"}
_CHILD_PROPERTIES = {"child"}


@dataclass(eq=False)
class Concept:
    code: str
    display: str | None
    definition: str | None
    designations: list[dict]
    properties: list[dict]  # FHIR concept.property entries (code + value[x])
    extensions: list[dict]
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    source: dict | None = None  # the concept as written in the resource


def property_value(entry: dict):
    """(value key, value) of a property or parameter entry."""
    for key, value in entry.items():
        if key.startswith("value"):
            return key, value
    return None, None


class CodeSystem:
    """A FHIR CodeSystem, indexed. Immutable once built; supplements give a new instance."""

    # Concepts by code: a dict here; a subclass may read them from elsewhere (ICD-10-CM, from its store).
    concepts: Mapping[str, Concept]

    def __init__(self, resource: dict, supplements: tuple[CodeSystem, ...] = ()):
        self.resource = resource
        self.url: str | None = resource.get("url")
        self.version: str | None = resource.get("version")
        self.content: str = resource.get("content", "complete")
        self.case_sensitive: bool = resource.get("caseSensitive", False) is True
        self.language: str | None = resource.get("language")
        self.supplements = supplements
        self.property_defs: dict[str, dict] = {p["code"]: p for p in resource.get("property", []) if "code" in p}
        concepts: dict[str, Concept] = {}
        self.concepts = concepts
        self._order: list[Concept] = []
        self._roots: list[Concept] = []
        self._folded: dict[str, Concept] = {}
        self._read(concepts, resource.get("concept", []), None)
        self._link_properties()
        for supplement in supplements:
            self._apply(supplement)

    # -- building -------------------------------------------------------------------------
    def _read(self, index: dict[str, Concept], concepts: list, parent: Concept | None, depth: int = 1) -> None:
        """Read ``concepts`` (nested under ``parent``) into ``index``, the order and the roots."""
        if depth > MAX_CONCEPT_DEPTH and concepts:
            raise InvalidRequest(
                f"CodeSystem {self.resource.get('url')} nests its concepts more than "
                f"{MAX_CONCEPT_DEPTH} levels deep, more than this server handles"
            )
        for item in concepts:
            if not isinstance(item, dict) or not isinstance(item.get("code"), str):
                continue
            concept = Concept(
                item["code"],
                item.get("display"),
                item.get("definition"),
                list(item.get("designation", [])),
                list(item.get("property", [])),
                list(item.get("extension", [])),
                source=item,
            )
            if concept.code not in index:
                index[concept.code] = concept
                self._folded.setdefault(concept.code.lower(), concept)
                self._order.append(concept)
            if parent is None:
                self._roots.append(concept)
            else:
                _link(parent, concept)
            self._read(index, item.get("concept", []), concept, depth + 1)

    def _link_properties(self) -> None:
        """Hierarchy declared as properties (parent, subsumedBy, child) rather than by nesting."""
        linked = False
        for concept in self.order:
            for prop in concept.properties:
                name = prop.get("code")
                if name in _PARENT_PROPERTIES or name in _CHILD_PROPERTIES:
                    _, value = property_value(prop)
                    other = self.concepts.get(value) if isinstance(value, str) else None
                    if other is None or other is concept:
                        continue
                    if name in _PARENT_PROPERTIES:
                        _link(other, concept)
                    else:
                        _link(concept, other)
                    linked = True
        if linked:
            self._roots = [c for c in self.order if not c.parents]

    def _apply(self, supplement: CodeSystem) -> None:
        """Add a supplement's designations and properties to copies of our concepts."""
        for code, extra in supplement.concepts.items():
            concept = self.concepts.get(code)
            if concept is None:
                continue
            # Designations remember their supplement ($lookup reports it as the designation's source).
            added = [{**d, "source": supplement.vurl} for d in extra.designations]
            if extra.display and supplement.language and supplement.language != self.language:
                added.append({"language": supplement.language, "value": extra.display, "source": supplement.vurl})
            concept.designations = concept.designations + added
            concept.properties = concept.properties + extra.properties
            concept.extensions = concept.extensions + extra.extensions
        for code, definition in supplement.property_defs.items():
            self.property_defs.setdefault(code, definition)

    def with_supplements(self, supplements: tuple[CodeSystem, ...]) -> CodeSystem:
        if not supplements:
            return self
        return CodeSystem(self.resource, self.supplements + tuple(supplements))

    # -- reading --------------------------------------------------------------------------
    # Read-only properties, so that a subclass may compute them (ICD-10-CM, when first asked).
    @property
    def order(self) -> list[Concept]:
        """Every concept once, in document order."""
        return self._order

    @property
    def roots(self) -> list[Concept]:
        """The top concepts of the hierarchy."""
        return self._roots

    @property
    def vurl(self) -> str:
        return f"{self.url}|{self.version}" if self.version else str(self.url)

    @property
    def name(self) -> str | None:
        return self.resource.get("name")

    @property
    def is_supplement(self) -> bool:
        return self.content == "supplement"

    @property
    def supplements_url(self) -> str | None:
        return self.resource.get("supplements")

    def locate(self, code: str) -> Concept | None:
        concept = self.concepts.get(code)
        if concept is None and not self.case_sensitive:
            concept = self._folded.get(code.lower())
        return concept

    def property_uri(self, code: str) -> str | None:
        definition = self.property_defs.get(code)
        return definition.get("uri") if definition else None

    def _property_code_for(self, standard: str) -> set[str]:
        """Codes this system uses for a standard concept property (declared by code or by uri)."""
        codes = {standard}
        for code, definition in self.property_defs.items():
            if definition.get("uri") == f"{CONCEPT_PROPERTIES}#{standard}":
                codes.add(code)
        return codes

    def values(self, concept: Concept, code: str) -> list:
        return [property_value(p)[1] for p in concept.properties if p.get("code") == code]

    def status(self, concept: Concept) -> str | None:
        for code in self._property_code_for("status"):
            for value in self.values(concept, code):
                if isinstance(value, str):
                    return value
        for ext in concept.extensions:
            if ext.get("url") == STANDARDS_STATUS:
                return ext.get("valueCode")
        return None

    def is_inactive(self, concept: Concept) -> bool:
        for code in self._property_code_for("inactive"):
            for value in self.values(concept, code):
                if value is True:
                    return True
        return self.status(concept) in _INACTIVE_STATUSES

    def is_deprecated(self, concept: Concept) -> bool:
        return self.status(concept) == "deprecated"

    def is_abstract(self, concept: Concept) -> bool:
        codes = self._property_code_for("notSelectable")
        for code, definition in self.property_defs.items():
            if definition.get("uri") in _NOT_SELECTABLE_URIS:
                codes.add(code)
        for code in codes:
            for value in self.values(concept, code):
                if value is True or value == "true":
                    return True
        return False

    def _walk(self, concept: Concept, step) -> list[Concept]:
        """Concepts reached from ``concept`` by ``step`` (children or parents), each once, depth-first."""
        seen: set[str] = set()
        out: list[Concept] = []
        stack = [self.concepts[c] for c in reversed(step(concept))]
        while stack:
            current = stack.pop()
            if current.code in seen:
                continue
            seen.add(current.code)
            out.append(current)
            stack.extend(self.concepts[c] for c in reversed(step(current)))
        return out

    def descendants(self, concept: Concept) -> list[Concept]:
        """All concepts below ``concept``, in document order."""
        return self._walk(concept, lambda c: c.children)

    def ancestors(self, concept: Concept) -> list[Concept]:
        """All concepts above ``concept``, nearest first along each line."""
        return self._walk(concept, lambda c: c.parents)

    def subsumes(self, general: Concept, specific: Concept) -> bool:
        return general.code == specific.code or general.code in {a.code for a in self.ancestors(specific)}


def _link(parent: Concept, child: Concept) -> None:
    if child.code not in parent.children:
        parent.children.append(child.code)
    if parent.code not in child.parents:
        child.parents.append(parent.code)
