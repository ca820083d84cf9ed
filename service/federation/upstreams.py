"""Upstream terminology servers: which code systems each serves, whether it is usable now, and how
requests are sent to it.

Configured as a JSON list (setting ``upstreams``, inline or a file path)::

    [{"name": "tx.fhir.org", "url": "https://tx.fhir.org/r4", "systems": ["http://snomed.info/sct", "http://loinc.org"]},
     {"url": "http://10.0.0.7:8080/fhir"}]

``systems`` are URL patterns (``*`` as a wildcard). Without them, the upstream's own
TerminologyCapabilities says what it serves: read when first needed and refreshed every
``refresh`` seconds. An upstream that fails (refused, timed out, 5xx) is left alone for
``retry_after`` seconds: requests meanwhile get a 502 at once rather than waiting on it again.
"""

from __future__ import annotations

import fnmatch
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..errors import BadGateway, GatewayTimeout, LoadError


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str
    server: str  # the base URL of the server that answered


@dataclass(eq=False)
class Upstream:
    url: str
    name: str
    patterns: list[str] = field(default_factory=list)
    discover: bool = True
    # What discovery found: code system url -> versions.
    code_systems: dict[str, list[str]] = field(default_factory=dict)
    # monotonic time of the last discovery; -inf (never), not 0.0: a machine up for less than the refresh
    # interval has a monotonic clock below it, and 0.0 would read as "discovered just now".
    discovered_at: float = -math.inf
    down_until: float = 0.0
    failure: str = ""

    def serves(self, system: str) -> bool:
        return system in self.code_systems or any(fnmatch.fnmatchcase(system, p) for p in self.patterns)


def parse_upstreams(text: str) -> list[Upstream]:
    """The upstreams of the setting: inline JSON, or the path of a JSON file."""
    text = text.strip()
    if not text:
        return []
    if not text.startswith("["):
        try:
            text = Path(text).read_text()
        except OSError as error:
            raise LoadError(f"upstreams: cannot read {text}: {error}") from None
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise LoadError(f"upstreams: not JSON: {error}") from None
    if not isinstance(entries, list):
        raise LoadError("upstreams: must be a JSON list of {url, name?, systems?}")
    out = []
    for index, entry in enumerate(entries):
        url = entry.get("url") if isinstance(entry, dict) else None
        systems = entry.get("systems", []) if isinstance(entry, dict) else None
        if (
            not isinstance(url, str)
            or not url.startswith(("http://", "https://"))
            or not isinstance(systems, list)
            or not all(isinstance(s, str) for s in systems)
        ):
            raise LoadError(f"upstreams[{index}]: needs an http(s) url and, optionally, a list of system patterns")
        out.append(
            Upstream(
                url.rstrip("/"), entry.get("name") or url, list(systems), discover=entry.get("discover", not systems)
            )
        )
    return out


class Upstreams:
    """The configured upstreams, with one pooled HTTP session for all of them."""

    def __init__(
        self, upstreams: list[Upstream], timeout: float = 5.0, retry_after: float = 30.0, refresh: float = 3600.0
    ):
        self.upstreams = upstreams
        self.timeout = timeout
        self.retry_after = retry_after
        self.refresh = refresh
        self._lock = threading.Lock()
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy lookups from the environment on every request
        # Bounded retries: one more try on a refused or reset connection, never on a slow answer.
        retry = Retry(total=1, connect=1, read=False, status=0, backoff_factor=0.05, allowed_methods=None)
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=16, max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def __bool__(self) -> bool:
        return bool(self.upstreams)

    # -- which upstream -------------------------------------------------------------------------------
    def for_system(self, system: str) -> Upstream | None:
        """The first upstream that serves ``system`` (whether or not it is usable right now)."""
        for upstream in self.upstreams:
            self._discover(upstream)
            if upstream.serves(system):
                return upstream
        return None

    def discover_in_background(self) -> None:
        """Read what the upstreams serve now, without holding up the start."""

        def discover_all() -> None:
            for upstream in self.upstreams:
                self._discover(upstream)

        threading.Thread(target=discover_all, daemon=True).start()

    def _discover(self, upstream: Upstream) -> None:
        now = time.monotonic()
        if not upstream.discover or now - upstream.discovered_at < self.refresh or now < upstream.down_until:
            return
        with self._lock:
            if now - upstream.discovered_at < self.refresh:
                return
            try:
                response = self.session.get(
                    f"{upstream.url}/metadata",
                    params={"mode": "terminology"},
                    headers={"Accept": "application/fhir+json"},
                    timeout=self.timeout,
                )
                response.raise_for_status()
                capabilities = response.json()
                upstream.code_systems = {
                    entry["uri"]: [v.get("code") for v in entry.get("version", []) if v.get("code")]
                    for entry in capabilities.get("codeSystem", [])
                    if isinstance(entry.get("uri"), str)
                }
                upstream.discovered_at = now
            except (requests.RequestException, ValueError, AttributeError, TypeError) as error:
                self._failed(upstream, f"its TerminologyCapabilities could not be read ({type(error).__name__})")

    def _failed(self, upstream: Upstream, why: str) -> None:
        upstream.down_until = time.monotonic() + self.retry_after
        upstream.failure = why

    def capabilities(self) -> list[dict]:
        """TerminologyCapabilities.codeSystem entries for what the upstreams serve."""
        out = []
        for upstream in self.upstreams:
            self._discover(upstream)
            for uri, versions in sorted(upstream.code_systems.items()):
                entry = {"uri": uri, "extension": [{"url": ANSWERED_BY, "valueUrl": upstream.url}]}
                if versions:
                    entry["version"] = [{"code": v} for v in versions]
                out.append(entry)
        return out

    # -- sending ------------------------------------------------------------------------------------
    def send(
        self,
        upstream: Upstream,
        method: str,
        path: str,
        query: bytes = b"",
        body: bytes | None = None,
        headers: dict | None = None,
    ) -> Answer:
        """One request to an upstream; a down or failing one is a 502, a slow one a 504."""
        if time.monotonic() < upstream.down_until:
            raise BadGateway(
                f"The terminology server {upstream.name} that serves this code system is "
                f"unavailable ({upstream.failure}); it will be tried again shortly"
            )
        url = f"{upstream.url}/{path.lstrip('/')}"
        if query:
            url += "?" + query.decode("latin-1")
        headers = {"Accept": "application/fhir+json", **(headers or {})}
        try:
            response = self.session.request(method, url, data=body, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            self._failed(upstream, f"no answer within {self.timeout:g} s")
            raise GatewayTimeout(
                f"The terminology server {upstream.name} did not answer within {self.timeout:g} s"
            ) from None
        except requests.RequestException as error:
            self._failed(upstream, f"connection failed: {type(error).__name__}")
            raise BadGateway(f"The terminology server {upstream.name} could not be reached") from None
        if response.status_code >= 500:
            self._failed(upstream, f"it answered HTTP {response.status_code}")
            raise BadGateway(f"The terminology server {upstream.name} failed (HTTP {response.status_code})")
        return Answer(
            response.status_code,
            response.content,
            response.headers.get("Content-Type", "application/fhir+json"),
            upstream.url,
        )

    def post_json(self, upstream: Upstream, path: str, resource: dict) -> dict:
        answer = self.send(
            upstream,
            "POST",
            path,
            body=json.dumps(resource).encode(),
            headers={"Content-Type": "application/fhir+json"},
        )
        try:
            return json.loads(answer.body)
        except ValueError:
            raise BadGateway(
                f"The terminology server {upstream.name} answered with something that is not FHIR JSON"
            ) from None


ANSWERED_BY = "https://icd10cm-tx.org/fhir/StructureDefinition/answered-by"
