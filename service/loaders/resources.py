"""The FHIR CodeSystems, ValueSets and ConceptMaps of ``codesystems/`` and ``valuesets/``.

They are validated with fhir.resources when the server starts (in the parent process, once) and
written to ``resources.json`` in the store, which each worker reads without fhir.resources. A bad
file is reported with its name and the reason, and skipped: the rest still load.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent.parent
FOLDERS = (ROOT / "codesystems", ROOT / "valuesets")
BUNDLE = "resources.json"
KINDS = ("CodeSystem", "ValueSet", "ConceptMap")
log = logging.getLogger(__name__)


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


def build_bundle(store: Path, folders=FOLDERS) -> list[dict]:
    resources, problems = read_resources(folders)
    for problem in problems:
        log.warning("skipped %s", problem)
    store.mkdir(parents=True, exist_ok=True)
    temporary = store / f"{BUNDLE}.tmp"
    temporary.write_bytes(orjson.dumps(resources))
    os.replace(temporary, store / BUNDLE)
    return resources


def read_bundle(store: Path) -> list[dict]:
    path = store / BUNDLE
    if not path.exists():
        return build_bundle(store)
    return orjson.loads(path.read_bytes())
