"""Schemathesis against the live server: requests generated from the OpenAPI description the server
serves (valid ones and broken ones, JSON and XML bodies), bounded in examples and time. No answer may
be a 5xx, and every answer must match the description (status, content type, body schema).

Run through schemathesis's own command line, as a CI job would (its pytest plugin lags pytest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.live
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_the_live_server_keeps_to_its_description(live_server, tmp_path):
    root = live_server.removesuffix("/fhir")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{root}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        "25",
        "--seed",
        "20261121",
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--no-color",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
