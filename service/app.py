"""The application factory: the only place the expensive parts are built."""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import partial

import orjson
from flask import Flask

from .config import Settings
from .federation.upstreams import Upstreams, parse_upstreams
from .http import codesystem, general, health, metadata, openapi, valueset
from .http.fastpath import FastPath
from .http.fhir_version import R4, R5
from .http.outcome import register_error_handlers
from .http.protocol import Protocol
from .icd10cm.guidance.fhir import structure_definition
from .icd10cm.operations import Icd10cm
from .icd10cm.provider import Icd10cmProvider
from .terminology.cache import ResourceCache
from .terminology.chain import Chain
from .terminology.engine import Engine
from .terminology.files import read_bundles
from .terminology.forward import UpstreamProvider
from .terminology.library import Library
from .web import fhir_urls, pages


def create_app(settings: Settings | None = None, engine: Icd10cm | None = None) -> Flask:
    settings = settings or Settings.from_env()
    engine = engine or Icd10cm.from_store(settings.store, settings.default_version)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_PARAMETERS=settings.max_parameters,
        MAX_EXPANSION=settings.max_expansion,
        BASE_PATH=settings.base_path,
    )
    app.extensions["terminology"] = engine
    if len(engine.history.releases) > 1:  # each code's history across the releases, ready before it is asked
        threading.Thread(target=engine.history.warm, name="history", daemon=True).start()
    bundles = read_bundles(settings)
    files = bundles[R4]
    chain = build_chain(settings, engine, files)
    r5_chain = r5_chain_of(chain, bundles[R5])
    app.extensions["chains"] = chains = {R4: chain, R5: r5_chain}
    base_url = f"http://{settings.host}:{settings.port}{settings.base_path}"
    app.extensions["metadata"] = metadata.build_metadata(
        engine, base_url, chain.fallback.library.code_systems(), r5_chain.fallback.library.code_systems()
    )
    app.extensions["guidance_extension"] = structure_definition()
    for blueprint in (metadata.bp, codesystem.bp, valueset.bp, general.bp):
        app.register_blueprint(blueprint, url_prefix=settings.base_path)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(pages.bp)
    fast = FastPath(app.wsgi_app, chains, base_path=settings.base_path, max_parameters=settings.max_parameters)
    app.wsgi_app = Protocol(  # type: ignore[method-assign]  # Flask's way to add WSGI middleware
        fast,
        _state_tag(engine, files + bundles[R5]),
        settings.base_path,
        cache_bytes=settings.answer_cache_mb * 1_048_576,
        page_for=partial(fhir_urls.page_for, base_path=settings.base_path),
        page_paths=pages.PAGE_PATHS,
        page_headers=pages.SECURITY_HEADERS,
    )
    logging.getLogger("icd10cm_tx.access").setLevel(logging.INFO if settings.access_log == "on" else logging.WARNING)
    register_error_handlers(app)
    logging.getLogger(__name__).info(
        "ICD-10-CM releases: %s (default %s)", engine.releases.versions_text, engine.releases.default.version
    )
    return app


def build_chain(settings: Settings, icd10cm: Icd10cm, files: list[dict]) -> Chain[Engine]:
    """The engine's chain: ICD-10-CM from its store, then what the in-memory engine holds (the resource
    files, and ICD-10-CM's code systems for value sets that mix it with other systems), then the upstream
    servers; the in-memory engine answers what nobody holds. No Flask in it."""
    provider = Icd10cmProvider(icd10cm, max_expansion=settings.max_expansion)
    library = Library()
    for resource in files:
        library.add(resource)
    for code_system in provider.code_systems():
        library.add_code_system(code_system)
    upstreams = Upstreams(
        parse_upstreams(settings.upstreams),
        settings.upstream_timeout,
        settings.upstream_retry_after,
        settings.upstream_refresh,
    )
    upstreams.discover_in_background()
    cache = ResourceCache(settings.store / "cache", int(settings.cache_sets_mb * 1_048_576), settings.cache_set_idle)
    engine = Engine(library, cache, settings.max_expansion, files, upstreams)
    return Chain([provider, engine, UpstreamProvider(engine, upstreams)], engine)


def r5_chain_of(chain: Chain[Engine], r5_files: list[dict]) -> Chain[Engine]:
    """The R5 endpoint's chain: the same providers, with an engine that holds FHIR R5's versions of the core
    resources (administrative-gender 5.0.0 ...) over everything R4's holds, so an unversioned reference to a
    core code system means R5's there. The resource cache, upstreams and ICD-10-CM are shared."""
    r4 = chain.fallback
    engine = Engine(
        r4.library.layer(r5_files), r4.cache, r4.too_costly_limit, [*r4.files.values(), *r5_files], r4.upstreams
    )
    icd10cm = chain.providers[0]
    return Chain([icd10cm, engine, UpstreamProvider(engine, r4.upstreams)], engine)


def _state_tag(engine: Icd10cm, files: list[dict]):
    """What every answer depends on: the release builds, the resource files, this software's version, and
    which release is the default today and whether it is past its period (an answer naming no date warns
    then)."""
    builds = ",".join(f"{r.version}@{r.meta['built']}" for r in engine.releases)
    digest = hashlib.blake2b(orjson.dumps(files), digest_size=8).hexdigest()
    fixed = f"{metadata.software_version()}|{builds}|{digest}"
    releases = engine.releases
    return lambda: f"{fixed}|{releases.state()}"
