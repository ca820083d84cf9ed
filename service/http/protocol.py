"""HTTP concerns around every answer, as WSGI middleware (it costs microseconds, not Flask's
request machinery): request ids and access logs, CORS for browser apps, format negotiation (FHIR
JSON or XML), caching (ETag, Cache-Control, 304) and gzip."""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import time
import uuid
import zlib
from collections.abc import Callable
from urllib.parse import parse_qs

import orjson

from ..errors import NotAcceptable, ServiceError, UnsupportedMediaType
from ..fhir import xml as fhir_xml
from ..fhir.r5 import to_r5
from ..lru import SizedLRU
from . import fhir_version
from .fhir import (
    CACHEABLE,
    FHIR_JSON,
    FORMAT,
    FRONT_ERROR,
    JSON_TYPES,
    REQUEST_ID,
    XML_CONTENT_TYPE,
    XML_TYPES,
)
from .outcome import error_response

access_log = logging.getLogger("icd10cm_tx.access")
log = logging.getLogger(__name__)
_REQUEST_ID_OK = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces: safe to echo and log
_GZIP_FROM = 1024  # bytes: smaller answers are not worth compressing
_GZIP_WBITS = 31  # zlib's name for the gzip container (zlib.decompress is faster than gzip.decompress)
CACHE_CONTROL = "public, max-age=3600"
_CORS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag, X-Request-Id, X-Answered-By, Location, Content-Location"),
]
_PREFLIGHT = [("Access-Control-Allow-Methods", "GET, POST, HEAD, OPTIONS"), ("Access-Control-Max-Age", "86400")]
_ALLOWED_HEADERS = "Content-Type, Accept, Accept-Language, Accept-Encoding, If-None-Match, X-Request-Id"

R5_CONTENT_TYPE = f"{FHIR_JSON}; fhirVersion=5.0; charset=utf-8"
_JSON_FORMATS = JSON_TYPES | {"json"}
_XML_FORMATS = XML_TYPES | {"xml"}
_ANY = {"*/*", "application/*"}  # JSON, the default
SHOWN_AS_PAGE = "icd10cm_tx.shown_as_page"  # environ key: a FHIR URL answered with a page, for a browser


class Protocol:
    """Wraps the application. ``state_tag()`` names what answers depend on (store builds, resource files,
    software version, whether the release in effect today is loaded): the answer to one GET does not
    change while it does not, so it makes the ETag and keys the answers kept."""

    def __init__(
        self,
        app,
        state_tag: Callable[[], str],
        base_path: str,
        cache_bytes: int = 0,
        page_for=None,
        page_paths: tuple[str, ...] = (),
        page_headers: dict[str, str] | None = None,
    ):
        self.app = app
        self.state_tag = state_tag
        self.base_path = base_path
        # Pages for people (under page_paths) are HTML whatever Accept says; page_for(path, query) gives the
        # (path, query) of the page that shows a FHIR URL to a browser, or None.
        self.page_for = page_for
        self.page_paths = page_paths
        self.page_headers = list((page_headers or {}).items())  # on every HTML answer, kept or not
        self.cacheable_paths = (base_path, *page_paths)
        # Answers kept gzip-compressed: a 20 KB lookup keeps in about 4 KB, so five times as many fit,
        # and a client that accepts gzip gets the kept bytes as they are.
        self.cache = SizedLRU(cache_bytes) if cache_bytes > 0 else None

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _REQUEST_ID_OK.fullmatch(given) else uuid.uuid4().hex
        environ[REQUEST_ID] = request_id
        method = environ["REQUEST_METHOD"]
        if FRONT_ERROR in environ:
            status, headers, body = error_response(environ[FRONT_ERROR])
        elif method == "OPTIONS":
            status, headers, body = "204 No Content", self._preflight(environ), b""
        else:
            try:
                status, headers, body = self._answer(environ, method)
            except Exception:
                log.exception("unexpected error around %s %s", method, environ.get("PATH_INFO"))
                status, headers, body = error_response(
                    ServiceError("The server failed to answer this request; it has been logged")
                )
        headers.append(("X-Request-Id", request_id))
        headers.extend(_CORS)
        headers.append(("X-Content-Type-Options", "nosniff"))
        if access_log.isEnabledFor(logging.INFO):
            query = environ.get("QUERY_STRING")
            access_log.info(
                orjson.dumps(
                    {
                        "time": round(time.time(), 3),
                        "request_id": request_id,
                        "method": method,
                        "path": environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
                        "status": int(status[:3]),
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                        "bytes": len(body),
                    }
                ).decode()
            )
        start_response(status, headers)
        return [body] if method != "HEAD" else [b""]

    def _format(self, environ, method: str) -> str:
        """json, xml or html. A browser on a FHIR URL that a page shows gets the page, at the same URL."""
        if environ.get("PATH_INFO", "").startswith(self.page_paths):
            return "html"
        wanted = negotiate(environ)
        if self.page_for is not None and method in ("GET", "HEAD") and wants_html(environ):
            page = self.page_for(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
            if page is not None:
                environ["PATH_INFO"], environ["QUERY_STRING"] = page
                environ[SHOWN_AS_PAGE] = True
                return "html"
        return wanted

    def _answer(self, environ, method: str):
        try:
            version = fhir_version.choose(environ, self.base_path)
            wanted = self._format(environ, method)
            if version == fhir_version.R5 and wanted == "xml":
                raise NotAcceptable("The R5 endpoint answers in JSON (application/fhir+json); R4's answers in XML too")
            if version == fhir_version.R5 and "xml" in environ.get("CONTENT_TYPE", ""):
                raise UnsupportedMediaType("Send R5 requests as application/fhir+json; R4's endpoint reads XML too")
        except ServiceError as error:
            return error_response(error)
        environ[FORMAT] = wanted
        etag = self._etag(environ, wanted) if method in ("GET", "HEAD") and self._cacheable(environ) else None
        if etag is not None and etag in environ.get("HTTP_IF_NONE_MATCH", ""):
            return "304 Not Modified", [("ETag", etag), ("Cache-Control", CACHE_CONTROL)], b""
        if method == "HEAD":
            environ["REQUEST_METHOD"] = "GET"  # the same answer, without its body (dropped in __call__)
        key = f"{self.state_tag()} {version} {wanted} {environ.get('PATH_INFO')}?{environ.get('QUERY_STRING', '')}"
        kept = self.cache.get(key) if self.cache is not None and method in ("GET", "HEAD") else None
        gzip_ok = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        zipped = None
        if kept is not None:
            content_type, zipped = kept
            status, body = "200 OK", zipped if gzip_ok else zlib.decompress(zipped, _GZIP_WBITS)
            headers = [("Content-Type", content_type)]
        else:
            status, headers, body = call_wsgi(self.app, environ)
            content_type = _header(headers, "Content-Type") or ""
            if wanted == "xml" and content_type.startswith(FHIR_JSON):
                body = fhir_xml.dumps(orjson.loads(body))
                headers = _replace(headers, "Content-Type", XML_CONTENT_TYPE)
            elif version == fhir_version.R5 and content_type.startswith(FHIR_JSON):
                body = orjson.dumps(to_r5(orjson.loads(body)))  # the engines write R4
                headers = _replace(headers, "Content-Type", R5_CONTENT_TYPE)
            if environ.get(CACHEABLE) and self.cache is not None and status.startswith("200"):
                zipped = gzip.compress(body, compresslevel=1, mtime=0)
                self.cache.put(key, (_header(headers, "Content-Type"), zipped), len(zipped))
                body = zipped if gzip_ok else body
        if environ.get(SHOWN_AS_PAGE):
            status, headers = _page_at_fhir_url(status, headers)
        if content_type.startswith("text/html"):
            headers += self.page_headers
        if etag is not None and status.startswith("200") and _header(headers, "X-Answered-By") is None:
            headers += [("ETag", etag), ("Cache-Control", CACHE_CONTROL)]
            _vary(headers, "Accept, Accept-Language")
        if gzip_ok and (body is zipped or len(body) >= _GZIP_FROM and _header(headers, "Content-Encoding") is None):
            if body is not zipped:
                body = gzip.compress(body, compresslevel=5)
            headers.append(("Content-Encoding", "gzip"))
            _vary(headers, "Accept-Encoding")
        return status, _replace(headers, "Content-Length", str(len(body))), body

    def _cacheable(self, environ) -> bool:
        """GETs whose answer depends only on the URL and the server's state (not on a client's cache set)."""
        return "HTTP_X_CACHE_ID" not in environ and environ.get("PATH_INFO", "").startswith(self.cacheable_paths)

    def _etag(self, environ, wanted: str) -> str:
        key = "\n".join(
            (
                self.state_tag(),
                fhir_version.spoken(environ),
                wanted,
                environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""),
                environ.get("HTTP_ACCEPT_LANGUAGE", ""),
            )
        )
        return f'W/"{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}"'

    @staticmethod
    def _preflight(environ) -> list[tuple[str, str]]:
        asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", _ALLOWED_HEADERS)
        return [
            *_PREFLIGHT,
            ("Access-Control-Allow-Headers", asked),
            ("Allow", "GET, POST, HEAD, OPTIONS"),
            ("Content-Length", "0"),
        ]


def negotiate(environ) -> str:
    """ "json" or "xml": from ``_format``, else from Accept (the better of the two by q-value; JSON on a tie)."""
    query = environ.get("QUERY_STRING", "")
    if "_format" in query:
        for value in parse_qs(query).get("_format", ())[:1]:
            wanted = value.strip().lower().split(";")[0]
            if wanted in _JSON_FORMATS:
                return "json"
            if wanted in _XML_FORMATS:
                return "xml"
            raise NotAcceptable(f"Unknown _format '{value}'; use json or xml")
    accept = environ.get("HTTP_ACCEPT", "")
    if "xml" not in accept:
        return "json"  # the common case, decided without parsing
    best = _best_q(accept)
    return "xml" if best["xml"] > best["json"] else "json"


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether Accept-Encoding allows gzip (RFC 9110 12.5.3): named with q > 0, or "*" with q > 0 when
    gzip is not named. "gzip;q=0" refuses it; no header, or only identity, means no compression."""
    accept_encoding = accept_encoding.lower()
    if "gzip" not in accept_encoding and "*" not in accept_encoding:
        return False
    named = star = None
    for entry in accept_encoding.split(","):
        coding, *options = (part.strip() for part in entry.split(";"))
        q = next((_q(o[2:]) for o in options if o.startswith("q=")), 1.0)
        if coding in ("gzip", "x-gzip"):
            named = max(named or 0.0, q)
        elif coding == "*":
            star = q
    return (named if named is not None else star or 0.0) > 0


def wants_html(environ) -> bool:
    """A browser: no ``_format``, and Accept prefers text/html to every FHIR format."""
    accept = environ.get("HTTP_ACCEPT", "")
    if "text/html" not in accept or "_format" in environ.get("QUERY_STRING", ""):
        return False
    best = _best_q(accept)
    return best["html"] > max(best["json"], best["xml"])


def _best_q(accept: str) -> dict[str, float]:
    """The highest q-value Accept gives each format (-1 for none; */* counts for JSON, the default)."""
    best = {"json": -1.0, "xml": -1.0, "html": -1.0}
    for entry in accept.lower().split(","):
        media, *options = (part.strip() for part in entry.split(";"))
        kind = (
            "xml"
            if media in _XML_FORMATS
            else "json"
            if media in _JSON_FORMATS or media in _ANY
            else "html"
            if media == "text/html"
            else None
        )
        if kind is not None:
            q = next((_q(o[2:]) for o in options if o.startswith("q=")), 1.0)
            best[kind] = max(best[kind], q)
    return best


def _q(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def call_wsgi(app, environ) -> tuple[str, list, bytes]:
    """The wrapped application's status, headers and whole body (answers here are small and buffered)."""
    answer: list = []

    def start_response(status, headers, exc_info=None):
        answer[:] = [status, list(headers)]
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return answer[0], answer[1], body


def _page_at_fhir_url(status: str, headers: list) -> tuple[str, list]:
    """A FHIR URL answered with a page for a browser: the same URL gives FHIR to other clients, so the
    answer varies on Accept, and a redirect (to the page's own address) is one no cache keeps."""
    _vary(headers, "Accept")
    if status.startswith("3"):
        status = "302 Found"
        headers = _replace(headers, "Cache-Control", "no-store")
    return status, headers


def _header(headers: list, name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in headers if k.lower() == name), None)


def _replace(headers: list, name: str, value: str) -> list:
    lowered = name.lower()
    return [(k, v) for k, v in headers if k.lower() != lowered] + [(name, value)]


def _vary(headers: list, names: str) -> None:
    """One Vary header, each name in it once, however many reasons there are."""
    current = [n.strip() for n in (_header(headers, "Vary") or "").split(",") if n.strip()]
    merged = current + [n.strip() for n in names.split(",") if n.strip() not in current]
    headers[:] = _replace(headers, "Vary", ", ".join(merged))
