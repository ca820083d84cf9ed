"""Which loaded release answers a request.

A request may name a version (exactly as loaded: ``2026-04``), a date (the release in effect on
that day), or neither: then the default answers, which is the newest release already in effect
today, unless the ``default_version`` setting names another.
"""

from __future__ import annotations

import datetime as dt

from ..errors import NotFound, StoreError
from .codes import ICD10CM
from .store.reader import Release


class UnknownVersion(NotFound):
    def __init__(self, message: str, version: str):
        super().__init__(message)
        self.version = version


class Releases:
    def __init__(self, releases: list[Release], default_version: str | None = None, today: dt.date | None = None):
        if not releases:
            raise StoreError("the store holds no ICD-10-CM release; run `python -m service load`")
        self.by_version = {r.version: r for r in sorted(releases, key=lambda r: (r.effective, r.version))}
        if default_version is not None:
            if default_version not in self.by_version:
                raise StoreError(f"default_version {default_version!r} is not loaded ({self.versions_text})")
            self.default = self.by_version[default_version]
        else:
            today_iso = (today or dt.date.today()).isoformat()
            in_effect = [r for r in self.by_version.values() if r.effective <= today_iso]
            self.default = (in_effect or list(self.by_version.values()))[-1]

    @property
    def versions_text(self) -> str:
        return ", ".join(self.by_version)

    def __iter__(self):
        return iter(self.by_version.values())

    def resolve(self, version: str | None = None, date: str | None = None) -> Release:
        if version:
            release = self.by_version.get(version.strip())
            if release is None:
                raise UnknownVersion(
                    f"A definition for CodeSystem '{ICD10CM}' version '{version}' could not be found. "
                    f"Loaded versions: {self.versions_text}",
                    version,
                )
            return release
        if date:
            day = date.strip()[:10]
            in_effect = [r for r in self.by_version.values() if r.effective <= day]
            if not in_effect:
                raise UnknownVersion(
                    f"No loaded ICD-10-CM release was in effect on {day}. Loaded versions: {self.versions_text}", day
                )
            return in_effect[-1]
        return self.default
