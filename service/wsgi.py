"""WSGI entry point for server workers: settings come from ICD10CM_TX_* variables."""

from .app import create_app

app = create_app()
