"""The server's front: granian's RSGI interface around the WSGI application, so that no client can
hold a worker by sending its request slowly.

Under granian's WSGI interface the application thread itself reads the body, with no time limit:
two connections that sent headers and stalled their bodies stopped a two-worker server. Here the
body is read on the worker's event loop, within a deadline (408) and a size limit (413, chunked or
not), before any application code runs; a stalled client costs a coroutine, not a thread. The
headers are bounded by granian's own header timeout (the connection is closed).

Then the WSGI application answers, with the body buffered:
- GETs that the store answers alone and quickly (ICD-10-CM lookups, validations and subsumption,
  code pages, metadata, health) run inline on the event loop: a thread pool hop would cost as much
  as a cached answer (it halved the throughput of cached lookups);
- everything else (a POST, an expansion or search, a code system held upstream) runs on the
  worker's thread pool, so that the event loop stays free for the cheap requests meanwhile.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .. import budget
from ..errors import PayloadTooLarge, RequestTimeout, ServiceError
from .fhir import FRONT_ERROR
from .protocol import call_wsgi

_INLINE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_STORE_OPERATIONS = ("/$lookup", "/$validate-code", "/$subsumes")  # inline when they name ICD-10-CM
_ICD10CM_NAMES = ("icd-10-cm", "2.16.840.1.113883.6.90")  # its URL or OID, as a query names it
_BASE_ENVIRON = {
    "SCRIPT_NAME": "",
    "SERVER_SOFTWARE": "icd10cm-tx (granian RSGI)",
    "wsgi.version": (1, 0),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": True,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    "wsgi.input_terminated": True,
}


class Front:
    """An RSGI application serving a WSGI one. ``target`` is the WSGI application or its import path
    (``module:attribute``), imported in each worker when granian starts it."""

    def __init__(
        self,
        target: str | Callable,
        *,
        max_body_bytes: int,
        body_timeout: float,
        threads: int,
        request_budget: float | None = None,
        inline_paths: tuple[str, ...] = (),
    ):
        self.target = target
        self.request_budget = request_budget  # seconds of work one request may take (service.budget)
        self.inline_paths = inline_paths  # path prefixes whose GETs are always cheap (pages, metadata, health)
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.threads = max(1, threads)
        self.app: Callable | None = None
        self.pool: ThreadPoolExecutor | None = None

    def __rsgi_init__(self, loop) -> None:
        self.app = _load(self.target) if isinstance(self.target, str) else self.target
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="costly")

    def __rsgi_del__(self, loop) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def __rsgi__(self, scope, protocol) -> None:
        if scope.proto != "http":  # no websockets here
            return
        environ = wsgi_environ(scope)
        read = await self._body(environ, protocol)
        failed = isinstance(read, ServiceError)
        body = b"" if isinstance(read, ServiceError) else read
        if failed:
            environ[FRONT_ERROR] = read
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is whole now
        if failed or self.inline(environ):
            status, headers, answer = self.call(environ)
        else:
            status, headers, answer = await asyncio.get_running_loop().run_in_executor(self.pool, self.call, environ)
        if failed:
            headers.append(("Connection", "close"))  # what is left of the body is not read
        try:
            protocol.response_bytes(status, headers, answer)
        except RuntimeError:  # RSGIProtocolClosed: the client left before its answer; nothing to tell it
            pass

    async def _body(self, environ: dict, protocol) -> bytes | ServiceError:
        """The whole request body, read within the deadline and the size limit, or the error that says
        why not. (Returned, not raised: a traceback would keep the body stream alive, and granian would
        keep the connection open to read the rest of it.)"""
        declared = environ.get("CONTENT_LENGTH", "")
        if not declared and "HTTP_TRANSFER_ENCODING" not in environ:
            return b""
        if declared and int(declared) > self.max_body_bytes:  # a number: granian refuses any other Content-Length
            return self._too_large()
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.body_timeout):
                async for chunk in protocol:
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        return self._too_large()
                    chunks.append(chunk)
        except TimeoutError:
            return RequestTimeout(f"The request body did not arrive within {self.body_timeout:g} s")
        return b"".join(chunks)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than this server accepts ({self.max_body_bytes:,} bytes)")

    def call(self, environ: dict) -> tuple[int, list, bytes]:
        """The WSGI application's status code, headers and whole body, within the request's time budget."""
        with budget.budget(self.request_budget):
            status, headers, body = call_wsgi(self.app, environ)
        return int(status[:3]), headers, body

    def inline(self, environ: dict) -> bool:
        """Whether a request is one the store answers alone and quickly (see the module's text)."""
        if environ["REQUEST_METHOD"] not in _INLINE_METHODS:
            return False
        path = environ["PATH_INFO"]
        if path.startswith(self.inline_paths):
            return True
        query = environ["QUERY_STRING"].lower()
        return path.endswith(_STORE_OPERATIONS) and any(name in query for name in _ICD10CM_NAMES)


def wsgi_environ(scope) -> dict:
    """The WSGI environ of an RSGI request scope (PEP 3333: the path decoded as latin-1 text)."""
    path = scope.path  # percent-decoded text; WSGI wants its UTF-8 bytes as latin-1 text
    if not path.isascii():
        path = path.encode("utf-8", "surrogateescape").decode("latin-1")
    host, _, port = scope.server.rpartition(":")
    client, _, client_port = scope.client.rpartition(":")
    environ = {
        **_BASE_ENVIRON,
        "REQUEST_METHOD": scope.method,
        "PATH_INFO": path,
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client,
        "REMOTE_PORT": client_port,
        "wsgi.url_scheme": scope.scheme,
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
        environ[key] = f"{environ[key]}, {value}" if key in environ else value
    return environ


def _load(path: str) -> Callable:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)
