"""Editorial guidance: one human-edited TOML file per code in ``guidance/``, checked on load.

A file is validated by a marshmallow schema when a release is loaded; a bad file stops the load
with a message naming the file and every failing field, so nothing can fail at request time. Every
section a file has must be backed by a source that names it. A file applies to the releases that
hold every code it cites: loading an older or newer release without one of them leaves the file
out of that release (logged, and counted in what the load reports), never stops the load. A file says which release and which Official Guidelines it was verified
against (``verified_against``); a file verified against another release still loads, and its
``verified`` property says against what. The format is described in guidance/README.md.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ... import PROJECT_ROOT
from ...errors import LoadError

GUIDANCE_DIR = PROJECT_ROOT / "guidance"
_LOG = logging.getLogger(__name__)

_TEXT = validate.Length(min=1, max=2000)

# The sections of a file a source can support (the fields that carry editorial text), in file order.
SECTIONS = (
    "summary",
    "documentation",
    "pitfalls",
    "clinical_context",
    "more_specific",
    "additional_codes",
    "faq",
    "scribe",
)


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
    # The sections this source supports; a source without them backs no section in particular.
    sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), validate=validate.Length(min=1))


class VerifiedAgainstSchema(Schema):
    """What ``verified`` was checked against: the ICD-10-CM release (as the store names it) and the
    Official Guidelines year."""

    class Meta:
        unknown = RAISE

    release = fields.String(
        required=True, validate=validate.Regexp(r"^\d{4}(-\d{2})?$", error="not a release name such as 2026-04")
    )
    guidelines = fields.String(
        required=True, validate=validate.Regexp(r"^FY\d{4}$", error="not a guidelines year such as FY2026")
    )


class EditorialSchema(Schema):
    """The fields of one guidance file (see guidance/README.md)."""

    class Meta:
        unknown = RAISE

    code = fields.String(required=True)
    summary = fields.String(required=True, validate=_TEXT)
    verified = fields.Date(required=True)
    verified_against = fields.Nested(VerifiedAgainstSchema, required=True)
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


def _problems(messages: dict, prefix: str = "") -> list[str]:
    """Every failing field as a dotted path, with its message."""
    found = []
    for name, message in messages.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(message, dict):
            found += _problems(message, path)
        else:
            found.append(f"{path}: {' '.join(map(str, message)) if isinstance(message, list) else message}")
    return found


def _entries(raw: dict, field: str) -> list[tuple[int, dict]]:
    """The well-formed table entries of a list field (a file that failed the schema is still checked)."""
    value = raw.get(field)
    return [(i, entry) for i, entry in enumerate(value) if isinstance(entry, dict)] if isinstance(value, list) else []


def _cited(raw: dict) -> list[tuple[str, str]]:
    """(field, code) of every code a file cites: its own and the codes it suggests."""
    cited = [("code", raw.get("code"))]
    for field in ("more_specific", "additional_codes"):
        cited += [(f"{field}[{i}].code", entry.get("code")) for i, entry in _entries(raw, field)]
    return [(field, code) for field, code in cited if isinstance(code, str)]


def _content_problems(raw: dict, stem: str) -> list[str]:
    """What the schema cannot see: the code against the file name, the sections against the sources."""
    found = []
    code = raw.get("code")
    if isinstance(code, str) and code != stem:
        found.append(f"code: '{code}' does not match the file name")
    covered = {
        section
        for _, source in _entries(raw, "sources")
        if isinstance(source.get("sections"), list)
        for section in source["sections"]
    }
    uncovered = [section for section in SECTIONS if raw.get(section) and section not in covered]
    if uncovered:
        found.append(
            f"sources: no source names {', '.join(uncovered)} in its sections "
            "(every section of a file must be backed by at least one source)"
        )
    return found


def read_file(path: Path, code_exists: Callable[[str], bool]) -> dict | None:
    """A validated guidance record, or None when the release lacks a code it cites (the file is for other
    releases); raises LoadError naming the file and every failing field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LoadError(f"{path}: not valid TOML ({error})") from None
    problems = []
    try:
        record = _SCHEMA.load(raw)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"record": error.messages}
        problems = _problems(messages)
    problems += _content_problems(raw, path.stem)
    if problems:
        raise LoadError(f"{path}: {'; '.join(problems)}")
    missing = [f"{field} '{code}'" for field, code in _cited(raw) if not code_exists(code)]
    if missing:
        _LOG.info("%s: not applied to this release, which lacks %s", path.name, ", ".join(missing))
        return None
    record["verified"] = record["verified"].isoformat()
    return record


def read_all(code_exists: Callable[[str], bool], folder: Path = GUIDANCE_DIR) -> dict[str, dict]:
    """Every guidance file of the folder that applies to the release, by code."""
    records = {path.stem: read_file(path, code_exists) for path in sorted(folder.glob("*.toml"))}
    return {code: record for code, record in records.items() if record is not None}
