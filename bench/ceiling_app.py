"""The framework ceiling: Flask returning a fixed FHIR JSON body, served exactly like the service."""

from flask import Flask, Response

BODY = b'{"resourceType":"Parameters","parameter":[{"name":"result","valueBoolean":true}]}'

app = Flask(__name__)


@app.route("/fhir/<path:operation>", methods=["GET", "POST"])
def fixed(operation: str):
    return Response(BODY, content_type="application/fhir+json; charset=utf-8")
