"""Which FHIR version a request speaks (https://hl7.org/fhir/R5/http.html#version-parameter).

R4 at the base; R5 under ``[base]/r5``, or at the base when the media type asks for it with its
``fhirVersion`` parameter (``Accept: application/fhir+json; fhirVersion=5.0``, else the body's
Content-Type). A version the server does not speak, or a media type that contradicts the path, is
refused with 406. The R5 endpoint speaks JSON: its XML would need R5's elements and their order, which the
XML reader and writer (R4's) do not have, so the protocol layer refuses XML there (406 for an answer, 415
for a body)."""

from __future__ import annotations

from ..errors import NotAcceptable

R4, R5 = "4.0", "5.0"
SUPPORTED = (R4, R5)
FHIR_VERSION = "icd10cm_tx.fhir_version"  # the environ key of the version a request speaks
R5_PATH = "/r5"


def choose(environ, base_path: str) -> str:
    """The request's FHIR version, kept in the environ; an R5 path loses its ``/r5`` (the same routes answer)."""
    path = environ.get("PATH_INFO", "")
    prefix = base_path + R5_PATH
    by_path = None
    if path == prefix or path.startswith(prefix + "/"):
        environ["PATH_INFO"] = base_path + path[len(prefix) :]
        by_path = R5
    asked = _asked(environ)
    if asked is not None and asked not in SUPPORTED:
        raise NotAcceptable(f"This server speaks FHIR {' and '.join(SUPPORTED)}, not fhirVersion={asked}")
    if by_path is not None and asked is not None and asked != by_path:
        raise NotAcceptable(f"fhirVersion={asked} was asked of the R{by_path[0]} endpoint ({prefix})")
    version = by_path or asked or R4
    environ[FHIR_VERSION] = version
    return version


def spoken(environ) -> str:
    """The version ``choose`` kept for this request (R4 for a request that did not pass the protocol layer)."""
    return environ.get(FHIR_VERSION, R4)


def _asked(environ) -> str | None:
    """major.minor of the fhirVersion parameter of Accept, else of Content-Type (None: not named)."""
    for header in ("HTTP_ACCEPT", "CONTENT_TYPE"):
        value = environ.get(header, "")
        if "fhirversion" not in value.lower():
            continue
        for media in value.split(","):
            for option in media.split(";")[1:]:
                name, _, given = option.partition("=")
                if name.strip().lower() == "fhirversion":
                    return ".".join(given.strip().strip('"').split(".")[:2])
    return None
