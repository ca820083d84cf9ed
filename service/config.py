"""Settings: one table, read from ``ICD10CM_TX_*`` environment variables or given directly.

docs/settings.md documents every entry; tests/test_docs.py keeps the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "ICD10CM_TX_"


def _setting(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    store: Path = _setting(Path("store"), "Directory of release files (one SQLite file per loaded release).")
    host: str = _setting("127.0.0.1", "Address the server listens on.")
    port: int = _setting(8080, "Port the server listens on.")
    base_path: str = _setting("/fhir", "Path of the FHIR base.")
    workers: int = _setting(2, "Server worker processes (one per core is a good start).")
    threads: int = _setting(
        4,
        "Threads per worker for the requests that may be slow (POSTs, expansions and "
        "searches, code systems held upstream); quick GETs are answered on the worker's "
        "event loop.",
    )
    connections: int = _setting(2048, "Most connections each worker holds at once; more wait in the listen queue.")
    header_timeout: float = _setting(
        10.0, "Seconds a client has to send a request's headers (the connection is closed after)."
    )
    body_timeout: float = _setting(30.0, "Seconds a client has to send a request's whole body (408 after).")
    store_watch: float = _setting(
        2.0,
        "Seconds between looks at the store: when a release file is rebuilt or added, "
        "the workers are restarted on it, one by one (0: never).",
    )
    default_version: str | None = _setting(
        None, "Release that answers when a request names no version (default: the newest release in effect today)."
    )
    max_body_bytes: int = _setting(1_048_576, "Largest request body accepted (413 above it).")
    request_budget: float = _setting(
        1.0,
        "Seconds of work one request may take (too-costly, 422, after): a store "
        "query or a walk over a code system past it is stopped (0: no limit).",
    )
    max_parameters: int = _setting(100, "Most parameters accepted in one request (400 above it).")
    max_expansion: int = _setting(
        1000, "Largest $expand answered without count (too-costly above it), and the largest page with count."
    )
    answer_cache_mb: int = _setting(
        32,
        "Megabytes of encoded ICD-10-CM $lookup and $validate-code answers (JSON "
        "or XML, kept gzip-compressed) each worker keeps (0: none).",
    )
    cache_sets_mb: float = _setting(
        16.0,
        "Megabytes of $cache-control sets (their JSON) each worker keeps in memory, "
        "and the store keeps on disk; the least recently used go first.",
    )
    cache_set_idle: float = _setting(3600.0, "Seconds a $cache-control set is kept without being used.")
    access_log: str = _setting(
        "on",
        "One JSON line per request (request id, method, path, status, ms) on the icd10cm_tx.access logger: on or off.",
    )
    resource_dirs: str = _setting(
        "",
        "More folders of FHIR CodeSystem/ValueSet/ConceptMap files, separated by the "
        "path separator (codesystems/ and valuesets/ are always read).",
    )
    upstreams: str = _setting(
        "", "Upstream terminology servers: a JSON list, or the path of a JSON file (see docs/federation.md)."
    )
    upstream_timeout: float = _setting(5.0, "Seconds to wait for an upstream server's answer (504 after).")
    upstream_retry_after: float = _setting(
        30.0, "Seconds an upstream that failed is left alone before it is tried again (502 meanwhile)."
    )
    upstream_refresh: float = _setting(
        3600.0, "Seconds between refreshes of what an upstream serves (read from its TerminologyCapabilities)."
    )

    @classmethod
    def from_env(cls, environ=os.environ, **overrides) -> Settings:
        values: dict = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw:
                values[f.name] = _convert(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "store" in values:
            values["store"] = Path(values["store"])
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that makes ``from_env`` rebuild these settings (for worker processes)."""
        return {
            ENV_PREFIX + f.name.upper(): str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) is not None
        }


def settings_table() -> list[tuple[str, str, object, str]]:
    """(name, environment variable, default, help) for every setting."""
    return [(f.name, ENV_PREFIX + f.name.upper(), f.default, f.metadata["help"]) for f in fields(Settings)]


def _convert(f, raw: str):
    if isinstance(f.default, float):
        try:
            return float(raw)
        except ValueError:
            raise SystemExit(f"{ENV_PREFIX}{f.name.upper()} must be a number, not {raw!r}") from None
    if isinstance(f.default, int):
        try:
            return int(raw)
        except ValueError:
            raise SystemExit(f"{ENV_PREFIX}{f.name.upper()} must be an integer, not {raw!r}") from None
    return raw
