"""`python -m service load`: from a source to a release file in the store."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from io import BytesIO
from pathlib import Path

from ...errors import LoadError
from ..guidance import editorial, risk
from . import hcc, tabular
from .build import BuildStats, build_release
from .lexicon import read_lexicon
from .sources import label_release, read_source
from .valuesets import read_valuesets


def read_editorial(parsed: tabular.Tabular, folder: Path) -> dict[str, dict]:
    """The editorial guidance files, checked against this release; suggested codes get their display."""
    records = editorial.read_all(lambda code: code in parsed.codes, folder)
    for record in records.values():
        for suggestion in (*record.get("more_specific", ()), *record.get("additional_codes", ())):
            suggestion["display"] = parsed.codes[suggestion["code"]].display
    return records


def load(
    source: str | Path | None,
    store_dir: Path,
    version: str | None = None,
    effective: str | None = None,
    guidance_dir: Path = editorial.GUIDANCE_DIR,
) -> BuildStats:
    """Read, parse and store one release; the stats time the whole of it."""
    started = time.perf_counter()
    release = read_source(source)
    try:
        parsed = tabular.parse(BytesIO(release.data))
    except (ET.ParseError, ValueError) as error:
        raise LoadError(f"{release.name}: {error}") from error
    label = label_release(parsed.fiscal_year, release, version, effective)
    editorial = read_editorial(parsed, guidance_dir)
    mappings = hcc.load()
    published = read_valuesets() + (hcc.valuesets(mappings, parsed.codes) if mappings else [])
    guidance = risk.read() if mappings and risk.RISK_FILE.exists() else None
    stats = build_release(parsed, label, release, store_dir, editorial, published, read_lexicon(), mappings, guidance)
    return replace(stats, seconds=time.perf_counter() - started)
