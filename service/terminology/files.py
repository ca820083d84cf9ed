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
BUNDLE = "resources.json"
KINDS = ("CodeSystem", "ValueSet", "ConceptMap")
log = logging.getLogger(__name__)


def resource_folders(settings) -> tuple[Path, ...]:
    """codesystems/, valuesets/ and the folders of the resource_dirs setting."""
    extra = [Path(p) for p in settings.resource_dirs.split(os.pathsep) if p.strip()]
    return (*FOLDERS, *extra)


def read_resources(folders=FOLDERS) -> tuple[list[dict], list[str]]:
    """(valid resources, one problem line per rejected file)."""
    from fhir.resources.R4B import get_fhir_model_class  # heavy: imported only here
    from pydantic import ValidationError

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


def build_bundle(store: Path, folders=FOLDERS) -> list[dict]:
    resources, problems = read_resources(folders)
    for problem in problems:
        log.warning("skipped %s", problem)
    store.mkdir(parents=True, exist_ok=True)
    temporary = store / f"{BUNDLE}.{os.getpid()}.tmp"
    temporary.write_bytes(orjson.dumps({"fingerprint": _fingerprint(folders), "resources": resources}))
    os.replace(temporary, store / BUNDLE)
    return resources


def read_bundle(store: Path, folders=FOLDERS) -> list[dict]:
    """The validated resources, rebuilt first when the files changed since the last build."""
    path = store / BUNDLE
    if path.exists():
        bundle = orjson.loads(path.read_bytes())
        if isinstance(bundle, dict) and bundle.get("fingerprint") == _fingerprint(folders):
            return bundle["resources"]
    return build_bundle(store, folders)
