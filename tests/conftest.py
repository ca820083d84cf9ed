"""Shared fixtures: the default release built once per session, the engine, the Flask app, a
two-release store, the parsed tabular, and a real server process.

The FHIR checks (``assert_fhir``) and Parameters helpers live in ``helpers.py``."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # the service package, when pytest is not run from the project root
    sys.path.insert(0, str(PROJECT_ROOT))

from service.app import create_app
from service.config import Settings
from service.icd10cm.loaders import tabular as tabular_module
from service.icd10cm.loaders.load import load
from service.icd10cm.loaders.packaged import PACKAGED, fetch
from service.icd10cm.loaders.sources import default_source_path
from service.icd10cm.operations import Icd10cm

# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory) -> Path:
    """The default release (April 1 2026), built once for the session."""
    path = tmp_path_factory.mktemp("store")
    load(None, path)
    return path


# The day the in-process engine takes for today: within the default release's period, so that answers do
# not depend on the calendar (the live servers use the real day; tests/test_releases.py checks both).
IN_PERIOD = dt.date(2026, 6, 1)


@pytest.fixture(scope="session")
def engine(store_dir) -> Icd10cm:
    return Icd10cm.from_store(store_dir, today=IN_PERIOD)


@pytest.fixture(scope="session")
def settings(store_dir) -> Settings:
    return Settings(store=store_dir)


@pytest.fixture(scope="session")
def app(settings, engine):
    return create_app(settings, engine=engine)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def tabular():
    return tabular_module.parse(str(default_source_path()))


@pytest.fixture(scope="session")
def october_xml(tmp_path_factory) -> Path:
    """The default tabular XML under a CDC October-release name (no "April" in it)."""
    path = tmp_path_factory.mktemp("october") / "icd10cm_tabular_2026.xml"
    shutil.copyfile(default_source_path(), path)
    return path


@pytest.fixture(scope="session")
def multi_store_dir(store_dir, october_xml, tmp_path_factory) -> Path:
    """A store with two releases side by side: 2026 (from the October-named file) and 2026-04."""
    path = tmp_path_factory.mktemp("multi-store")
    share_releases(store_dir, path)
    load(october_xml, path)
    return path


@pytest.fixture(scope="session")
def packaged_wheels(tmp_path_factory) -> dict[str, Path]:
    """The wheels of the simple-icd-10-cm versions that carry the older real releases, from PyPI, by version
    (the default release comes from the installed package)."""
    folder = tmp_path_factory.mktemp("wheels")
    return {release.version: fetch(release, folder) for release in PACKAGED[:-1]}


@pytest.fixture(scope="session")
def history_store_dir(store_dir, packaged_wheels, tmp_path_factory) -> Path:
    """The three real releases on PyPI side by side: 2021 (FY2021, as updated January 1 2021), 2025-04 and
    2026-04, loaded as `python -m service load --packaged` loads them."""
    path = tmp_path_factory.mktemp("history-store")
    share_releases(store_dir, path)
    for release in PACKAGED[:-1]:
        load(packaged_wheels[release.version], path)  # each file labels itself (loaders/sources.py)
    return path


def share_releases(source: Path, target: Path) -> None:
    """The release files of ``source`` in ``target`` as hard links: no copy of 109 MB each. Safe for tests
    that read them or rebuild them (a rebuild renames a new file into place); a test that writes into a
    release file must copy it."""
    target.mkdir(parents=True, exist_ok=True)
    for release_file in source.glob("icd10cm-*.sqlite"):
        try:
            os.link(release_file, target / release_file.name)
        except OSError:  # another file system
            shutil.copyfile(release_file, target / release_file.name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(store_dir: Path, log_path: Path, env_extra: dict | None = None, workers: int = 1):
    """`python -m service serve` in its own process group; returns (process, FHIR base URL) once it answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICD10CM_TX_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.update(env_extra or {})
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service",
                "serve",
                "--store",
                str(store_dir),
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/fhir"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {log_path.read_text()}")
        try:
            if requests.get(f"{base}/metadata", timeout=2).status_code == 200:
                return process, base
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            stop_server(process)
            pytest.fail(f"the server did not answer within 30 s: {log_path.read_text()}")
        time.sleep(0.2)


def stop_server(process) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(store_dir, tmp_path_factory):
    """The real server (`python -m service serve`) in its own process group; yields the FHIR base URL."""
    process, base = start_server(store_dir, tmp_path_factory.mktemp("live") / "server.log")
    try:
        yield base
    finally:
        stop_server(process)
