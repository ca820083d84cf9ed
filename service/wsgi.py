"""WSGI entry point for server workers: settings come from ICD10CM_TX_* variables."""

import logging

from .app import create_app

# Workers are processes of their own: they log (access lines included) to stderr like the parent.
logging.basicConfig(level=logging.INFO, format="%(message)s")
app = create_app()
