"""The SQLite layout of one ICD-10-CM release (one file per release, never changed in place)."""

SCHEMA_VERSION = "1"
FILE_PREFIX = "icd10cm-"
FILE_SUFFIX = ".sqlite"

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

-- One row per code, in tabular order (seq). `record` is JSON with what a lookup needs in one
-- read: ancestors, blocks, children with their displays, and the 7th-character facts.
CREATE TABLE concept (
    code     TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL UNIQUE,
    display  TEXT NOT NULL,
    parent   TEXT,
    billable INTEGER NOT NULL,
    chapter  TEXT NOT NULL,
    block    TEXT NOT NULL,
    record   TEXT NOT NULL
) WITHOUT ROWID;

-- Chapters and blocks: groupings, not codes. key is 'chapter:13' or 'block:M50-M54'.
CREATE TABLE grouping (
    key     TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    id      TEXT NOT NULL,
    title   TEXT NOT NULL,
    chapter TEXT NOT NULL,
    first   TEXT NOT NULL,
    last    TEXT NOT NULL,
    seq     INTEGER NOT NULL
) WITHOUT ROWID;

-- The instructional notes declared on a code, a block or a chapter (owner = code or grouping
-- key), as a JSON list in tabular order: {"type", "text", "refs"?, "char"?}.
CREATE TABLE notes (owner TEXT PRIMARY KEY, notes TEXT NOT NULL) WITHOUT ROWID;
"""


def chapter_key(number: str) -> str:
    return f"chapter:{number}"


def block_key(block_id: str) -> str:
    return f"block:{block_id}"
