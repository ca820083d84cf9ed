"""Find the tabular XML in what the user gives us, and name the release it holds.

A source is the CDC tabular XML file, a CDC release zip that contains it, or nothing: the
April 1 2026 release shipped inside the ``simple-icd-10-cm`` package (read as a file; the
package itself is never imported, it parses everything at import time).

Version scheme (see docs/versions.md): the October release of fiscal year YYYY is ``YYYY``
(effective October 1 of YYYY-1); the April update of the same fiscal year is ``YYYY-04``
(effective April 1 of YYYY). The XML says only the fiscal year, so the April marker comes from
the file name, or from ``--version``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ...errors import LoadError

_VERSION = re.compile(r"^\d{4}(-04)?$")

# CDC tabular files whose name does not say all: (version, effective date), by the file's sha256. The FY2021
# file of simple-icd-10-cm <= 1.2.0 is the release as updated on January 1 2021 (it holds J12.82 and Z20.822,
# added that day; its CMS order file is "icd10cm-order-Jan-2021"), so it is in effect from 2021-01-01.
KNOWN_SOURCES = {
    "436905e9470018c8667b25cdf646f6a2f4f0c95dbaeabd8692b530775db71afd": ("2021", "2021-01-01"),
}


@dataclass(frozen=True)
class ReleaseSource:
    name: str  # file name of the tabular XML (inside the zip, if any)
    data: bytes
    origin: str  # what the user pointed at

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def is_april_update(self) -> bool:
        return "april" in f"{self.origin} {self.name}".lower()


@dataclass(frozen=True)
class ReleaseLabel:
    version: str
    fiscal_year: str
    effective: str  # ISO date the release takes effect


def default_source_path() -> Path:
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise LoadError("the default source needs the package simple-icd-10-cm==1.5.0 (pip install it)")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    found = sorted(data.glob("*tabular*.xml"))
    if not found:
        raise LoadError(f"no tabular XML in {data}")
    return found[0]


def read_source(path: str | Path | None) -> ReleaseSource:
    path = Path(path) if path else default_source_path()
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [
                m for m in archive.namelist() if m.lower().endswith(".xml") and "tabular" in Path(m).name.lower()
            ]
            if len(members) != 1:
                raise LoadError(f"{path}: expected one *tabular*.xml in the zip, found {members or 'none'}")
            return ReleaseSource(Path(members[0]).name, archive.read(members[0]), path.name)
    return ReleaseSource(path.name, path.read_bytes(), path.name)


def label_release(
    fiscal_year: str, source: ReleaseSource, version: str | None = None, effective: str | None = None
) -> ReleaseLabel:
    if not re.fullmatch(r"\d{4}", fiscal_year or ""):
        raise LoadError(f"{source.name}: <version> should be a fiscal year, found {fiscal_year!r}")
    if version is None and effective is None and source.sha256 in KNOWN_SOURCES:
        version, effective = KNOWN_SOURCES[source.sha256]
    if version is None:
        version = f"{fiscal_year}-04" if source.is_april_update else fiscal_year
    if not _VERSION.match(version):
        raise LoadError(f"version {version!r} does not follow the scheme YYYY or YYYY-04")
    if effective is None:
        year = int(version[:4])
        effective = f"{year}-04-01" if version.endswith("-04") else f"{year - 1}-10-01"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", effective):
        raise LoadError(f"effective date {effective!r} is not YYYY-MM-DD")
    return ReleaseLabel(version, version[:4], effective)
