"""ICD-10-CM in the engine's chain of providers: which requests it holds, their parameters bound
(``binding.py``), the operation run over its releases (``operations.py``) and the answer rendered
(``render.py``). The same functions answer through Flask and through the fast path."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..errors import InvalidRequest, NotFound
from ..terminology.chain import (
    CODESYSTEM_VALIDATE,
    EXPAND,
    LOOKUP,
    SUBSUMES,
    TRANSLATE,
    VALIDATE_DIAGNOSES,
    VALUESET_VALIDATE,
    OperationRequest,
)
from . import binding
from .codes import ICD10CM, canonical_system
from .codesystem import Icd10cmCodeSystem
from .diagnoses import Listed, from_bundle, from_claim, validate_diagnoses
from .guidance.fhir import supplement_resource
from .maps import ReleaseMaps, conceptmap_url, names_release_map
from .model import Coding, ValidationResult
from .operations import Icd10cm
from .render import LookupAnswer, diagnoses_parameters, expanded, validation_parameters
from .resources import codesystem_id, codesystem_resource

# The parameters that name a code system, in a CodeSystem operation.
_SYSTEM_PARAMETERS = ("system", "url", "coding", "codingA", "codingB")


def _names_icd10cm(value) -> bool:
    if isinstance(value, dict):
        value = value.get("system")
    elif isinstance(value, str) and "|" in value:
        value = value.split("|", 1)[0]
    return isinstance(value, str) and canonical_system(value) == ICD10CM


def names_icd10cm_only(flat: dict[str, list]) -> bool:
    """A CodeSystem operation naming ICD-10-CM, or naming no system at all (ICD-10-CM's own errors)."""
    named = [v for name in _SYSTEM_PARAMETERS for v in flat.get(name, ())]
    named += [
        c
        for cc in flat.get("codeableConcept", ())
        if isinstance(cc, dict)
        for c in cc.get("coding", ())
        if isinstance(c, dict)
    ]
    if not named:
        return "tx-resource" not in flat
    return any(_names_icd10cm(v) for v in named)


def names_icd10cm_value_set(flat: dict[str, list], known_url: Callable[[str], bool]) -> bool:
    """A ValueSet operation on one of ICD-10-CM's value sets (or naming none: ICD-10-CM's errors)."""
    for url in flat.get("url", ()):
        return isinstance(url, str) and known_url(url) and "tx-resource" not in flat
    for value_set in flat.get("valueSet", ()):
        includes = (value_set.get("compose") or {}).get("include", []) if isinstance(value_set, dict) else []
        return bool(includes) and all(
            isinstance(i, dict) and not i.get("valueSet") and _names_icd10cm(i) for i in includes
        )
    return "tx-resource" not in flat


class Icd10cmProvider:
    # Its answers depend only on the request and the store: the fast path may answer them without Flask.
    fast = True

    def __init__(self, icd10cm: Icd10cm, *, max_expansion: int):
        self.icd10cm = icd10cm
        self.max_expansion = max_expansion
        default = icd10cm.releases.default
        # The guidance of the default release as a CodeSystem supplement (CodeSystem/[its id]).
        self.supplement = supplement_resource(default.guidance_records(), default.version)
        self._answers = {
            LOOKUP: self.lookup,
            CODESYSTEM_VALIDATE: self.validate_code,
            SUBSUMES: self.subsumes,
            EXPAND: self.expand,
            VALUESET_VALIDATE: self.validate_in_value_set,
            TRANSLATE: self.translate,
            VALIDATE_DIAGNOSES: self.validate_diagnoses,
        }
        self.maps = ReleaseMaps(icd10cm.releases, icd10cm.history)

    # -- in the chain ------------------------------------------------------------------------------
    def code_systems(self) -> list[Icd10cmCodeSystem]:
        """ICD-10-CM's releases as code systems of the in-memory engine, for the value sets that mix
        ICD-10-CM with other systems (or that a request sends)."""
        return [Icd10cmCodeSystem(release) for release in self.icd10cm.releases]

    def read(self, kind: str, resource_id: str) -> dict | None:
        if kind == "ConceptMap":
            return self.maps.read(resource_id)
        if kind == "ValueSet":
            return self.icd10cm.valuesets.by_id(resource_id) if self.icd10cm.valuesets.has_id(resource_id) else None
        if resource_id == self.supplement["id"]:
            return self.supplement
        releases = self.icd10cm.releases
        for release in releases:
            if codesystem_id(release.version) == resource_id:
                return codesystem_resource(release, release is releases.default)
        return None

    def resources(self, kind: str) -> list[dict]:
        if kind == "ConceptMap":
            return self.maps.resources()
        if kind == "ValueSet":
            return list(self.icd10cm.valuesets.resources)
        releases = self.icd10cm.releases
        return [codesystem_resource(r, r is releases.default) for r in releases] + [self.supplement]

    def holds(self, request: OperationRequest) -> bool:
        if request.operation == VALIDATE_DIAGNOSES:
            return True  # an operation of ICD-10-CM's own
        if request.kind == "ConceptMap":
            if request.resource_id is not None:
                return self.maps.pair(request.resource_id) is not None
            return names_release_map(request.flat, self.maps)
        if request.kind == "CodeSystem":
            if request.resource_id is not None:
                return any(codesystem_id(r.version) == request.resource_id for r in self.icd10cm.releases)
            return names_icd10cm_only(request.flat)
        if request.resource_id is not None:
            return self.icd10cm.valuesets.has_id(request.resource_id)
        return names_icd10cm_value_set(request.flat, self.icd10cm.valuesets.knows)

    def answer(self, request: OperationRequest):
        return self._answers[request.operation](request.flat, request.resource_id)

    # -- CodeSystem --------------------------------------------------------------------------------
    def _release_for_id(self, resource_id: str):
        for release in self.icd10cm.releases:
            if codesystem_id(release.version) == resource_id:
                return release
        raise NotFound(f"CodeSystem/{resource_id} is not known on this server")

    def _instance_system(self, resource_id: str | None, system: str | None, version: str | None):
        """At instance level the CodeSystem id fixes the system and version."""
        if resource_id is None:
            return system, version
        release = self._release_for_id(resource_id)
        if system is not None and canonical_system(system) != ICD10CM:
            raise InvalidRequest(f"CodeSystem/{resource_id} is {ICD10CM}, not {system}", expression="system")
        if version is not None and version != release.version:
            raise InvalidRequest(
                f"CodeSystem/{resource_id} is version {release.version}, not {version}", expression="version"
            )
        return ICD10CM, release.version

    def lookup(self, flat: dict, resource_id: str | None = None) -> LookupAnswer:
        args = binding.LOOKUP.bind(flat)
        coding: Coding | None = args.get("coding")
        code, system, version = args.get("code"), args.get("system"), args.get("version")
        if coding is not None:
            if code is not None:
                raise InvalidRequest("Give either code or coding, not both", expression="coding")
            code, system, version = coding.code, coding.system or system, coding.version or version
        system, version = self._instance_system(resource_id, system, version)
        result = self.icd10cm.lookup(
            system,
            code,
            version=version,
            date=args.get("date"),
            properties=args.get("property"),
            guidance=args.get("guidance", "all"),
        )
        return LookupAnswer(result)

    def validate_code(self, flat: dict, resource_id: str | None = None) -> dict | bytes:
        args = binding.CODESYSTEM_VALIDATE_CODE.bind(flat)
        system = canonical_system(args.get("url") or args.get("system"))
        system, version = self._instance_system(resource_id, system, args.get("version"))
        return _validation(self.icd10cm.validate_code, args, system, version, "url")

    def subsumes(self, flat: dict, resource_id: str | None = None) -> dict:
        args = binding.SUBSUMES.bind(flat)
        code_a, code_b = args.get("codeA"), args.get("codeB")
        system, version = args.get("system"), args.get("version")
        for name, coding in (("A", args.get("codingA")), ("B", args.get("codingB"))):
            if coding is not None:
                if name == "A":
                    code_a = coding.code
                else:
                    code_b = coding.code
                system, version = coding.system or system, coding.version or version
        if not code_a or not code_b:
            raise InvalidRequest("$subsumes needs codeA and codeB (or codingA and codingB)", expression="codeA")
        system, version = self._instance_system(resource_id, system, version)
        if system is None:
            raise InvalidRequest("$subsumes needs the system", expression="system")
        outcome = self.icd10cm.subsumes(system, code_a, code_b, version=version)
        return {"resourceType": "Parameters", "parameter": [{"name": "outcome", "valueCode": outcome}]}

    def validate_diagnoses(self, flat: dict, resource_id: str | None = None) -> dict:
        args = binding.VALIDATE_DIAGNOSES.bind(flat)
        date = args.get("date")
        if "claim" in args:
            listed, billed = from_claim(args["claim"])
            date = date or billed
        elif "bundle" in args:
            listed = from_bundle(args["bundle"])
        else:
            listed = [Listed(coding, f"coding[{i}]") for i, coding in enumerate(args.get("coding", ()))]
        return diagnoses_parameters(validate_diagnoses(self.icd10cm, listed, date, args.get("version")))

    # -- ConceptMap --------------------------------------------------------------------------------
    def translate(self, flat: dict, resource_id: str | None = None) -> dict:
        args = binding.TRANSLATE.bind(flat)
        coding: Coding | None = args.get("coding") or args.get("sourceCoding")
        code, version = args.get("code") or args.get("sourceCode"), args.get("version")
        if coding is not None:
            code, version = coding.code, coding.version or version
        url = args.get("url")
        if resource_id is not None:
            pair = self.maps.pair(resource_id)
            assert pair is not None  # holds() found the map
            url = conceptmap_url(*pair)
        # A system may carry its version as a canonical does: http://hl7.org/fhir/sid/icd-10-cm|2021.
        version = version or _version_in(args, "system", "sourceSystem")
        target_version = args.get("targetVersion") or _version_in(args, "targetsystem", "targetSystem")
        return self.maps.translate(
            code, url=url, version=version, target_version=target_version, reverse=args.get("reverse", False)
        )

    # -- ValueSet ----------------------------------------------------------------------------------
    def _value_set(self, resource_id: str | None, args: dict) -> dict:
        if resource_id is not None:
            return self.icd10cm.valuesets.by_id(resource_id)
        if "valueSet" in args:
            return args["valueSet"]
        if "url" in args:
            return self.icd10cm.valuesets.get(args["url"], args.get("valueSetVersion"))
        raise InvalidRequest("Name the value set: url, valueSet, or ValueSet/[id]/...", expression="url")

    def expand(self, flat: dict, resource_id: str | None = None) -> dict:
        args = binding.EXPAND.bind(flat)
        value_set = self._value_set(resource_id, args)
        releases = self.icd10cm.releases
        version = _system_version(args, releases.resolve(date=args.get("date")).version)
        expansion = self.icd10cm.expand(
            value_set,
            version=version,
            text=args.get("filter"),
            count=args.get("count"),
            offset=args.get("offset", 0),
            exclude_not_for_ui=args.get("excludeNotForUI", False),
            max_size=self.max_expansion,
        )
        release = releases.by_version[expansion.version]
        named = _icd10cm_version(args, "force-system-version") or _icd10cm_version(args, "system-version")
        stale = releases.stale(release, named, args.get("date"))
        return expanded(value_set, expansion, args, release, warning=stale)

    def validate_in_value_set(self, flat: dict, resource_id: str | None = None) -> dict | bytes:
        args = binding.VALUESET_VALIDATE_CODE.bind(flat)
        value_set = self._value_set(resource_id, args)
        system = canonical_system(args.get("system"))
        if system is None and all(
            canonical_system(i.get("system")) == ICD10CM for i in value_set.get("compose", {}).get("include", ())
        ):
            system = ICD10CM  # a value set of ICD-10-CM codes only: the system goes without saying
        validate = partial(self.icd10cm.validate_in_value_set, value_set)
        return _validation(validate, args, system, args.get("systemVersion"), "system")


def _version_in(args: dict, *names: str) -> str | None:
    """The version a system|version parameter names, if any."""
    for name in names:
        version = (args.get(name) or "").partition("|")[2].strip()
        if version:
            return version
    return None


def _icd10cm_version(args: dict, name: str) -> str | None:
    for canonical in args.get(name, ()):
        system, _, version = canonical.partition("|")
        if canonical_system(system) == ICD10CM and version:
            return version
    return None


def _system_version(args: dict, default: str) -> str:
    """The ICD-10-CM release to expand with: force-system-version, else system-version (value sets
    here name no version of their own), else the default; check-system-version must agree."""
    version = _icd10cm_version(args, "force-system-version") or _icd10cm_version(args, "system-version") or default
    checked = _icd10cm_version(args, "check-system-version")
    if checked is not None and checked != version:
        raise InvalidRequest(
            f"The expansion would use {ICD10CM} version '{version}', not '{checked}' as check-system-version requires",
            expression="check-system-version",
            tx_code="version-error",
        )
    return version


def _validation(
    validate: Callable[..., ValidationResult], args: dict, system: str | None, version: str | None, system_name: str
) -> dict | bytes:
    """Validate the codeableConcept, the coding, or code+system of a request (``system_name`` is the
    parameter that names the code system: url for a CodeSystem, system for a ValueSet)."""
    options = {
        "display_language": args.get("displayLanguage"),
        "abstract": args.get("abstract"),
        "date": args.get("date"),
        "guidance": args.get("guidance", "all"),
    }
    concept = args.get("codeableConcept")
    if concept is not None:
        return validation_parameters(validate(codeable_concept=concept, **options), concept)
    coding = args.get("coding")
    if coding is not None:
        coding = Coding(
            canonical_system(coding.system) or system, coding.code, coding.version or version, coding.display
        )
        if coding.system is None:
            raise InvalidRequest(
                f"$validate-code needs the system of the coding (or {system_name})", expression="Coding.system"
            )
        return validation_parameters(validate(coding, from_coding=True, **options))
    if system is None:
        raise InvalidRequest(f"$validate-code needs {system_name} (the code system) and code", expression=system_name)
    coding = Coding(system, args.get("code"), version, args.get("display"))
    return validation_parameters(validate(coding, **options))
