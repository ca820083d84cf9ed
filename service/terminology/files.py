"""The FHIR CodeSystems, ValueSets and ConceptMaps of ``codesystems/`` and ``valuesets/``.

They are validated with fhir.resources when the server starts and a file has changed since the
last start (in the parent process, once), and written to ``resources.json`` in the store, which
each worker reads without fhir.resources. A bad
file is reported with its name and the reason, and skipped: the rest still load.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import orjson

from .. import PROJECT_ROOT

FOLDERS = (PROJECT_ROOT / "codesystems", PROJECT_ROOT / "valuesets")
# FHIR R5's own versions of the core resources above (administrative-gender 5.0.0 ...), for the R5 endpoint.
R5_FOLDERS = (PROJECT_ROOT / "codesystems" / "r5", PROJECT_ROOT / "valuesets" / "r5")
# The models that validate the files, and the bundle they are kept in, by the FHIR version they are written in.
MODELS = {"4.0": "fhir.resources.R4B", "5.0": "fhir.resources"}
BUNDLES = {"4.0": "resources.json", "5.0": "resources-r5.json"}
KINDS = ("CodeSystem", "ValueSet", "ConceptMap")
log = logging.getLogger(__name__)


def resource_folders(settings) -> tuple[Path, ...]:
    """codesystems/, valuesets/ and the folders of the resource_dirs setting."""
    extra = [Path(p) for p in settings.resource_dirs.split(os.pathsep) if p.strip()]
    return (*FOLDERS, *extra)


def read_resources(folders=FOLDERS, fhir_version: str = "4.0") -> tuple[list[dict], list[str]]:
    """(valid resources, one problem line per rejected file)."""
    from importlib import import_module

    from pydantic import ValidationError

    get_fhir_model_class = import_module(MODELS[fhir_version]).get_fhir_model_class  # heavy: imported only here

    resources, problems = [], []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.json")):
            try:
                resource = orjson.loads(path.read_bytes())
                kind = resource.get("resourceType") if isinstance(resource, dict) else None
                if kind not in KINDS:
                    raise ValueError(f"a {kind or 'non-resource'}, not one of {', '.join(KINDS)}")
                get_fhir_model_class(kind).model_validate(resource)
                if not isinstance(resource.get("url"), str):
                    raise ValueError("it has no url, so nothing can refer to it")
            except (orjson.JSONDecodeError, ValidationError, ValueError) as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                problems.append(f"{path.name}: {reason}")
                continue
            resources.append(resource)
    return resources, problems


def _fingerprint(folders) -> str:
    """A hash of the resource files' names and contents: any change means a rebuild."""
    digest = hashlib.sha256()
    for path in sorted(p for folder in folders for p in Path(folder).glob("*.json")):
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_bundle(store: Path, folders=FOLDERS, fhir_version: str = "4.0") -> list[dict]:
    resources, problems = read_resources(folders, fhir_version)
    for problem in problems:
        log.warning("skipped %s", problem)
    store.mkdir(parents=True, exist_ok=True)
    temporary = store / f"{BUNDLES[fhir_version]}.{os.getpid()}.tmp"
    temporary.write_bytes(orjson.dumps({"fingerprint": _fingerprint(folders), "resources": resources}))
    os.replace(temporary, store / BUNDLES[fhir_version])
    return resources


def read_bundle(store: Path, folders=FOLDERS, fhir_version: str = "4.0") -> list[dict]:
    """The validated resources, rebuilt first when the files changed since the last build."""
    path = store / BUNDLES[fhir_version]
    if path.exists():
        bundle = orjson.loads(path.read_bytes())
        if isinstance(bundle, dict) and bundle.get("fingerprint") == _fingerprint(folders):
            return bundle["resources"]
    return build_bundle(store, folders, fhir_version)


def read_bundles(settings) -> dict[str, list[dict]]:
    """The resources by the FHIR version of the endpoint that holds them: R4's (the resource folders), and
    R5's versions of the core resources among them."""
    return {
        "4.0": read_bundle(settings.store, resource_folders(settings)),
        "5.0": read_bundle(settings.store, R5_FOLDERS, "5.0"),
    }
