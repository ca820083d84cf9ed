"""The framework ceilings, served exactly like the service: Flask returning a fixed FHIR JSON body
(``app``), and a bare WSGI callable returning it (``raw``: the server's own ceiling); ``front`` and
``front_raw`` are the same behind the front that `serve` puts around the service (RSGI)."""

from flask import Flask, Response

from service.http.server import Front

BODY = b'{"resourceType":"Parameters","parameter":[{"name":"result","valueBoolean":true}]}'

app = Flask(__name__)


@app.route("/fhir/<path:operation>", methods=["GET", "POST"])
def fixed(operation: str):
    return Response(BODY, content_type="application/fhir+json; charset=utf-8")


def raw(environ, start_response):
    start_response(
        "200 OK", [("Content-Type", "application/fhir+json; charset=utf-8"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


# As `serve` runs the service: every GET on the event loop (the ceiling's paths are not the store's, so name
# them), bodies read with the same limits.
_FRONT = {"max_body_bytes": 1_048_576, "body_timeout": 30.0, "threads": 4, "inline_paths": ("/fhir",)}
front = Front(app, **_FRONT)
front_raw = Front(raw, **_FRONT)
