"""RSGI entry point for granian workers (`python -m service serve`): the front of service/http/server.py
around the WSGI application of service/wsgi.py, with settings from ICD10CM_TX_* variables."""

from .config import Settings
from .http.server import Front
from .web.pages import CODE_PATH

_settings = Settings.from_env()
front = Front(
    "service.wsgi:app",
    max_body_bytes=_settings.max_body_bytes,
    body_timeout=_settings.body_timeout,
    threads=_settings.threads,
    request_budget=_settings.request_budget or None,
    inline_paths=(CODE_PATH, "/health", f"{_settings.base_path}/metadata", "/openapi.json"),
)
