"""The real CDC releases that versions of the ``simple-icd-10-cm`` package carry, fetched from PyPI.

`python -m service load --packaged` adds them to the store, so that dates, code history and the
maps between releases reach back to FY2021. Each package version is downloaded as its wheel (a zip
holding one ``*tabular*.xml``) with ``pip download`` and loaded like a CDC zip; the newest is the
embedded default and comes from the installed package.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ...errors import LoadError
from .sources import default_source_path

PACKAGE = "simple-icd-10-cm"


@dataclass(frozen=True)
class PackagedRelease:
    package_version: str
    version: str  # as this server names it (docs/versions.md); the file says it (sources.label_release)
    what: str


PACKAGED = (
    PackagedRelease("1.2.0", "2021", "FY2021, as updated on January 1 2021 (in effect from 2021-01-01)"),
    PackagedRelease("1.4.0", "2025-04", "the April 1 2025 update of FY2025"),
    PackagedRelease("1.5.0", "2026-04", "the April 1 2026 update of FY2026, the default"),
)


def fetch(release: PackagedRelease, folder: Path) -> Path:
    """The wheel of the package version that carries ``release`` (the installed package for the default)."""
    if release is PACKAGED[-1]:
        return default_source_path()
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += [f"{PACKAGE}=={release.package_version}", "--dest", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob(f"{PACKAGE.replace('-', '_')}-{release.package_version}-*.whl"))
    if done.returncode != 0 or not wheels:
        raise LoadError(
            f"could not download {PACKAGE}=={release.package_version} from PyPI: "
            f"{(done.stderr or done.stdout).strip().splitlines()[-1:] or 'no wheel'}"
        )
    return wheels[0]


def packaged_sources():
    """(release, path of its source) for each packaged release, downloaded into a temporary folder that
    lasts as long as the iteration."""
    with tempfile.TemporaryDirectory(prefix="icd10cm-packaged-") as folder:
        for release in PACKAGED:
            yield release, fetch(release, Path(folder))
