"""Editorial guidance: one human-edited TOML file per code in ``guidance/``, checked on load.

A file is validated by a marshmallow schema when a release is loaded; a bad file stops the load
with a message naming the file and the field, so nothing can fail at request time. Codes a file
mentions must exist in the release being loaded. The format is described in guidance/README.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ... import PROJECT_ROOT
from ...errors import LoadError

GUIDANCE_DIR = PROJECT_ROOT / "guidance"

_TEXT = validate.Length(min=1, max=2000)


class SuggestedCodeSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Length(min=3, max=8))
    when = fields.String(required=True, validate=_TEXT)


class QuestionSchema(Schema):
    class Meta:
        unknown = RAISE

    question = fields.String(required=True, validate=_TEXT)
    answer = fields.String(required=True, validate=_TEXT)


class SourceSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=_TEXT)
    url = fields.Url(required=False, schemes={"https", "http"})


class EditorialSchema(Schema):
    """The fields of one guidance file (see guidance/README.md)."""

    class Meta:
        unknown = RAISE

    code = fields.String(required=True)
    summary = fields.String(required=True, validate=_TEXT)
    verified = fields.Date(required=True)
    region = fields.String(validate=_TEXT)
    documentation = fields.List(fields.String(validate=_TEXT), required=True, validate=validate.Length(min=1))
    pitfalls = fields.List(fields.String(validate=_TEXT), required=True, validate=validate.Length(min=1))
    clinical_context = fields.List(fields.String(validate=_TEXT))
    more_specific = fields.List(fields.Nested(SuggestedCodeSchema))
    additional_codes = fields.List(fields.Nested(SuggestedCodeSchema))
    # Procedure codes only (five characters): CPT descriptors are AMA copyright and never shipped.
    procedures = fields.List(fields.String(validate=validate.Regexp(r"^[0-9A-Z]{5}$")))
    faq = fields.List(fields.Nested(QuestionSchema))
    scribe = fields.String(validate=_TEXT)
    # Words people search for that the title and inclusion terms lack (short: they are synonyms).
    search_terms = fields.List(fields.String(validate=validate.Length(min=2, max=60)))
    sources = fields.List(fields.Nested(SourceSchema), required=True, validate=validate.Length(min=1))


_SCHEMA = EditorialSchema()


def _where(messages: dict, prefix: str = "") -> str:
    """The first failing field as a dotted path, with its message."""
    for name, message in messages.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(message, dict):
            return _where(message, path)
        return f"{path}: {' '.join(map(str, message)) if isinstance(message, list) else message}"
    return "invalid"


def read_file(path: Path, code_exists: Callable[[str], bool]) -> dict:
    """A validated guidance record; raises LoadError naming the file and the field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LoadError(f"{path}: not valid TOML ({error})") from None
    try:
        record = _SCHEMA.load(raw)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"record": error.messages}
        raise LoadError(f"{path}: {_where(messages)}") from None
    if record["code"] != path.stem:
        raise LoadError(f"{path}: code: '{record['code']}' does not match the file name")
    mentioned = [("code", record["code"])]
    for field in ("more_specific", "additional_codes"):
        mentioned += [(f"{field}[{i}].code", s["code"]) for i, s in enumerate(record.get(field, []))]
    for field, code in mentioned:
        if not code_exists(code):
            raise LoadError(f"{path}: {field}: '{code}' is not a code of this release")
    record["verified"] = record["verified"].isoformat()
    return record


def read_all(code_exists: Callable[[str], bool], folder: Path = GUIDANCE_DIR) -> dict[str, dict]:
    """Every guidance file of the folder, by code."""
    return {path.stem: read_file(path, code_exists) for path in sorted(folder.glob("*.toml"))}
