"""Which loaded release answers a request.

A request may name a version (exactly as loaded: ``2026-04``), a date (the release in effect on
that day), or neither: then the default answers, which is the newest release already in effect
today, unless the ``default_version`` setting names another.

Each release is in effect from its effective date to September 30 of its fiscal year. A date (or
today, when a request names neither) after the period of the release that answers means the
release in effect is not loaded: ``stale`` says so, and every answer carries it as a warning.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import lru_cache

from ..errors import NotFound, StoreError
from ..fhir.messages import message
from .codes import ICD10CM
from .store.reader import Release

# CDC's first April 1 update was FY2023's; before it a fiscal year had one release (October 1).
FIRST_APRIL_UPDATE = 2023


class UnknownVersion(NotFound):
    def __init__(self, message: str, version: str, date: str | None = None):
        super().__init__(message)
        self.version = version
        self.date = date  # set when no loaded release was in effect on the date asked


class Releases:
    def __init__(self, releases: list[Release], default_version: str | None = None, today: dt.date | None = None):
        self._today = today
        self._day, self._day_read_until = "", 0.0
        if not releases:
            raise StoreError("the store holds no ICD-10-CM release; run `python -m service load`")
        self.by_version = {r.version: r for r in sorted(releases, key=lambda r: (r.effective, r.version))}
        self._ordered = list(self.by_version.values())
        self._fixed_default: Release | None = None
        if default_version is not None:
            if default_version not in self.by_version:
                raise StoreError(f"default_version {default_version!r} is not loaded ({self.versions_text})")
            self._fixed_default = self.by_version[default_version]

    @property
    def default(self) -> Release:
        """The default_version setting's release, else the newest in effect today (asked each time: a release
        loaded ahead of its October 1 takes over that day without a restart)."""
        if self._fixed_default is not None:
            return self._fixed_default
        return self._default_on(self.today_iso())

    @lru_cache(maxsize=4)  # noqa: B019 (a few days; one Releases per process)
    def _default_on(self, day: str) -> Release:
        in_effect = [r for r in self._ordered if r.effective <= day]
        return (in_effect or self._ordered)[-1]

    def state(self) -> str:
        """What answers naming no version or date depend on today: the default release, and whether the
        release in effect is loaded."""
        return self._state_on(self.today_iso())

    @lru_cache(maxsize=4)  # noqa: B019
    def _state_on(self, day: str) -> str:
        default = self.default
        return f"{default.version}|stale" if self.stale(default) else default.version

    def today(self) -> dt.date:
        return self._today or dt.date.today()

    def today_iso(self) -> str:
        """Today as YYYY-MM-DD, read from the clock at most once a second (every request asks)."""
        now = time.monotonic()
        if now >= self._day_read_until:
            self._day, self._day_read_until = self.today().isoformat(), now + 1.0
        return self._day

    @property
    def newest(self) -> Release:
        return self._ordered[-1]

    def day_of(self, date: str | None) -> str:
        """The day a request is about: its date (a partial one from its first day), else today."""
        return _day(date) if date else self.today_iso()

    def stale(self, release: Release, version: str | None = None, date: str | None = None) -> str | None:
        """Why ``release`` is not the release in effect on the date asked (today, when the request names
        neither a version nor a date), or None when it is. A version named wins over any date."""
        if version:
            return None
        day = self.day_of(date)
        return None if day <= release.ends else _not_loaded(day, release)

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
            day = _day(date)
            in_effect = [r for r in self.by_version.values() if r.effective <= day]
            if not in_effect:
                first = next(iter(self.by_version.values()))
                raise UnknownVersion(
                    f"No loaded ICD-10-CM release was in effect on {day}: the earliest loaded, {first.version}, took "
                    f"effect on {first.effective}. Loaded versions: {self.versions_text}",
                    day,
                    day,
                )
            return in_effect[-1]
        return self.default


@lru_cache(maxsize=256)
def _not_loaded(day: str, release: Release) -> str:
    return message(
        "ICD10CM_RELEASE_NOT_LOADED", day, in_effect_on(day), release.version, release.effective, release.ends
    )


def in_effect_on(day: str) -> str:
    """The CDC release in effect on a day (YYYY-MM-DD), by the calendar alone: 'FY2027 (effective 2026-10-01)'."""
    year, month = int(day[:4]), int(day[5:7])
    fiscal_year = year + 1 if month >= 10 else year
    october = f"{fiscal_year - 1}-10-01"
    if month >= 10 or month < 4 or fiscal_year < FIRST_APRIL_UPDATE:
        return f"FY{fiscal_year} (effective {october})"
    return f"FY{fiscal_year} (its April 1 update, or the release effective {october} if CDC published no update)"


def _day(date: str) -> str:
    """A FHIR date or dateTime as the day it starts on: 2021 -> 2021-01-01, 2021-06 -> 2021-06-01."""
    day = date.strip()[:10]
    return day + "-01-01"[len(day) - 4 :] if len(day) < 10 else day
