"""``/health``: liveness (the process answers) and, with ``?ready``, readiness (every release file
can be read), for load balancers and orchestrators. Readiness also says whether the newest loaded
release is past its period (``content.stale``, status ``warn``): information, still HTTP 200."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, current_app, request

bp = Blueprint("health", __name__)
_CONTENT_TYPE = "application/health+json"


@bp.get("/health")
def health() -> Response:
    body: dict = {"status": "pass"}
    if "ready" in request.args:
        engine = current_app.extensions["terminology"]
        try:
            for release in engine.releases:
                release.concept("A00")  # one read of each release file
        except Exception as error:  # a store that cannot be read: not ready, and say why
            return Response(
                orjson.dumps({"status": "fail", "output": type(error).__name__}), status=503, content_type=_CONTENT_TYPE
            )
        body["releases"] = [r.version for r in engine.releases]
        # Content older than the release in effect: still ready (it answers), but say so.
        stale = engine.releases.stale(engine.releases.newest)
        body["content"] = {
            "newest": engine.releases.newest.version,
            "inEffectUntil": engine.releases.newest.ends,
            "stale": stale is not None,
        }
        if stale:
            body["status"] = "warn"
            body["notes"] = [str(stale)]
    return Response(orjson.dumps(body), content_type=_CONTENT_TYPE)
