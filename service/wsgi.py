"""WSGI entry point for server workers: settings come from ICD10CM_TX_* variables."""

import logging

from .app import create_app

# Workers are processes of their own: they log to stderr like the parent, and the access log as bare
# JSON lines (one per request), ready for a log shipper.
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
_access_handler = logging.StreamHandler()
_access_handler.setFormatter(logging.Formatter("%(message)s"))
logging.getLogger("icd10cm_tx.access").addHandler(_access_handler)
logging.getLogger("icd10cm_tx.access").propagate = False
app = create_app()
