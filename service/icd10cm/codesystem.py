"""ICD-10-CM as a code system of the general engine, read from its store.

Requests about ICD-10-CM alone are answered by the ICD-10-CM engine; this adapter serves the
rest: value sets that mix ICD-10-CM with other systems, or that a client sends with a request.
Concepts are read from the release file when asked for; the whole code list is built only when
an operation needs to walk every code (a regex filter, say), once per worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from ..terminology.codesystem import CodeSystem, Concept
from .codes import ICD10CM
from .store.reader import Release

_HEADER = [{"code": "notSelectable", "valueBoolean": True}]


def _concept(code: str, display: str, parent: str | None, billable) -> Concept:
    return Concept(code, display, None, [], [] if billable else list(_HEADER), [], parents=[parent] if parent else [])


class _Concepts(Mapping):
    """Concepts by code, read from the release on demand."""

    def __init__(self, release: Release):
        self.release = release

    def __getitem__(self, code: str) -> Concept:
        row = self.release.concept(code) if isinstance(code, str) else None
        if row is None:
            raise KeyError(code)
        concept = _concept(row.code, row.display, row.parent, row.billable)
        concept.children = [child for child, _ in row.children]
        return concept

    def __iter__(self):
        return (code for code, *_ in self.release.all_concepts())

    def __len__(self) -> int:
        return self.release.code_count


class Icd10cmCodeSystem(CodeSystem):
    def __init__(self, release: Release):  # not super().__init__: that reads a resource, this the store
        self.release = release
        self.resource = {
            "resourceType": "CodeSystem",
            "url": ICD10CM,
            "version": release.version,
            "name": "ICD10CM",
            "content": "complete",
        }
        self.url, self.version, self.content = ICD10CM, release.version, "complete"
        self.case_sensitive, self.language = True, "en"
        self.supplements = ()
        self.property_defs = {
            "notSelectable": {
                "code": "notSelectable",
                "type": "boolean",
                "uri": "http://hl7.org/fhir/concept-properties#notSelectable",
            }
        }
        self.concepts = _Concepts(release)
        self._folded = {}

    @cached_property
    def order(self) -> list[Concept]:
        concepts = {
            code: _concept(code, display, parent, billable)
            for code, display, parent, billable in self.release.all_concepts()
        }
        for concept in concepts.values():
            for parent in concept.parents:
                concepts[parent].children.append(concept.code)
        return list(concepts.values())

    @cached_property
    def roots(self) -> list[Concept]:
        return [c for c in self.order if not c.parents]

    def locate(self, code: str) -> Concept | None:
        return self.concepts.get(code)

    def with_supplements(self, supplements):
        return self
