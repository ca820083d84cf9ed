"""The ValueSets of ``valuesets/``: validated with fhir.resources and checked when a release is loaded."""

from __future__ import annotations

from pathlib import Path

import orjson

from ... import PROJECT_ROOT
from ...errors import LoadError, ServiceError
from ..codes import ICD10CM
from ..compose import compile_compose

VALUESET_DIR = PROJECT_ROOT / "valuesets"


def _icd10cm_only(resource: dict) -> bool:
    """ICD-10-CM's own value sets; one naming another system or importing value sets is general."""
    compose = resource.get("compose") if isinstance(resource, dict) else None
    includes = compose.get("include") if isinstance(compose, dict) else None
    return not any(
        isinstance(i, dict) and (i.get("system") not in (None, ICD10CM) or i.get("valueSet")) for i in includes or []
    )


def read_valuesets(folder: Path = VALUESET_DIR) -> list[dict]:
    """Every ValueSet file, validated; a bad file stops the load with its name and the reason."""
    from fhir.resources.R4B.valueset import ValueSet  # heavy: imported only when loading
    from pydantic import ValidationError

    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            resource = orjson.loads(path.read_bytes())
            if not _icd10cm_only(resource):
                continue  # served by the general engine (service/terminology/files.py)
            ValueSet.model_validate(resource)
            compile_compose(resource["compose"], lambda code: [])
        except (orjson.JSONDecodeError, ValidationError, KeyError, ServiceError) as error:
            reason = getattr(error, "message", None) or str(error).splitlines()[0]
            raise LoadError(f"{path}: not a usable ValueSet ({reason})") from None
        found.append(resource)
    return found
