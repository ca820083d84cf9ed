"""The framework ceilings, served exactly like the service: Flask returning a fixed FHIR JSON body
(``app``), and a bare WSGI callable returning it (``raw``: the server's own ceiling)."""

from flask import Flask, Response

BODY = b'{"resourceType":"Parameters","parameter":[{"name":"result","valueBoolean":true}]}'

app = Flask(__name__)


@app.route("/fhir/<path:operation>", methods=["GET", "POST"])
def fixed(operation: str):
    return Response(BODY, content_type="application/fhir+json; charset=utf-8")


def raw(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/fhir+json; charset=utf-8"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]
