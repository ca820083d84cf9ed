"""HL7's terminology ecosystem tests (``../shared/tx-ecosystem``) against the real server.

Every suite runs in R4 mode at the base and in R5 mode at ``[base]/r5``, with HL7's comparison rules. Tests not passing yet are listed in
``tx_ecosystem_failures.txt``; the list may only shrink: a new failure fails here, and so does
a listed test that now passes (take it off the list).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT
from helpers import require_shared

SUITES = PROJECT_ROOT.parent / "shared" / "tx-ecosystem"
KNOWN_FAILURES = Path(__file__).with_name("tx_ecosystem_failures.txt")
GENERAL_MODE_TESTS = 476


def _known_failures() -> set[str]:
    lines = KNOWN_FAILURES.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def require_suites(suites: Path) -> None:
    """Skip without the suites, except under CI, which must run them: there a missing suite is a broken
    checkout, not a pass."""
    require_shared(
        (suites / "run.py").exists(),
        f"HL7's terminology ecosystem suites are not at {suites}: they come with the project's shared "
        "folder (shared/tx-ecosystem, beside this clone); see docs/general.md",
    )


def test_a_missing_suite_fails_under_ci_and_is_skipped_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="tx-ecosystem"):
        require_suites(tmp_path)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="docs/general.md"):
        require_suites(tmp_path)


@pytest.mark.parametrize("endpoint, mode", [("", "4.0"), ("/r5", "5.0")], ids=["R4", "R5"])
def test_tx_ecosystem_suites(live_server, tmp_path, endpoint, mode):
    require_suites(SUITES)
    run = subprocess.run(
        [
            sys.executable,
            str(SUITES / "run.py"),
            live_server + endpoint,
            "--tests",
            str(SUITES / "tests"),
            "--fhir-version",
            mode,
            "-o",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    results_file = tmp_path / "test-results.json"
    assert results_file.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(results_file.read_text())["results"]
    assert len(results) == GENERAL_MODE_TESTS
    failing = {f"{r['suite']}/{r['test']}": r["message"] for r in results if r["status"] != "pass"}
    known = _known_failures()
    new = {name: failing[name] for name in sorted(set(failing) - known)}
    fixed = sorted(known - set(failing))
    assert not new, "new failures:\n" + "\n".join(f"{n}: {(m or '')[:300]}" for n, m in new.items())
    assert not fixed, "these pass now; take them off tx_ecosystem_failures.txt:\n" + "\n".join(fixed)
