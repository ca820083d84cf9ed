"""The SQLite layout of one ICD-10-CM release (one file per release, never changed in place)."""

SCHEMA_VERSION = "14"
FILE_PREFIX = "icd10cm-"
FILE_SUFFIX = ".sqlite"

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

-- Rows with large values live in rowid tables (WITHOUT ROWID suits small rows only).
-- One row per code, in tabular order (seq). `ancestors` and `blocks` are '|'-separated, nearest
-- first; `hierarchy` holds the pre-rendered $lookup entries for the parent and the children
-- (terminology/fragments.py); `seventh` holds the 7th characters a header
-- needs, or a generated code's own 7th character; `seventh_owner` is the code whose 7th-character
-- table applies (the nearest definition); `rank` orders codes for broad searches (see search).
CREATE TABLE concept (
    code           TEXT PRIMARY KEY,
    seq            INTEGER NOT NULL UNIQUE,
    display        TEXT NOT NULL,
    parent         TEXT,
    billable       INTEGER NOT NULL,
    chapter        TEXT NOT NULL,
    blocks         TEXT NOT NULL,
    ancestors      TEXT NOT NULL,
    hierarchy      BLOB NOT NULL,
    seventh        TEXT,
    seventh_owner  TEXT,
    rank           INTEGER NOT NULL UNIQUE,
    hcc            BLOB NOT NULL DEFAULT x'',  -- the $lookup entries of its CMS-HCC V28 category (loaders/hcc.py)
    risk           TEXT NOT NULL DEFAULT ''   -- its risk adjustment guidance families, '|'-separated (risk_guidance)
);
CREATE INDEX concept_parent ON concept (parent);

-- Text search: one row per code (rowid = concept.rank, an order of general before specific:
-- shorter titles first), the title, and as synonyms the inclusion terms and "includes" notes of the
-- code and the codes above it, and the editorial guidance's search terms (cervicalgia: neck pain).
-- Word prefixes are indexed for search-as-you-type. The 7th-character codes B-Z (subsequent
-- encounters, sequelae, open fractures ...) have a table of their own, `search_later`, which a text search
-- of the whole code system leaves out unless the query speaks of the encounter: each injury shows once,
-- and the search reads a smaller index. For ranking, not searched: `names`, what the title and each term
-- mean ('|'-separated, each its words sorted), and `lead`, the title's words in order (both without
-- "unspecified", "NOS", small words and parentheses), and what ranks the code whatever the query
-- (`weight`, `adds_with`, `other_type`): icd10cm/search.py.
CREATE VIRTUAL TABLE search USING fts5(
    title, terms, names UNINDEXED, lead UNINDEXED, weight UNINDEXED, adds_with UNINDEXED, other_type UNINDEXED,
    prefix = '2 3 4 5 6', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE search_later USING fts5(
    title, terms, names UNINDEXED, lead UNINDEXED, weight UNINDEXED, adds_with UNINDEXED, other_type UNINDEXED,
    prefix = '2 3 4 5 6', tokenize = 'unicode61 remove_diacritics 2'
);

-- The words of the search index and how many codes use each: the vocabulary spelling is corrected to.
CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search, row);
CREATE VIRTUAL TABLE search_later_vocab USING fts5vocab(search_later, row);

-- The clinical lexicon (lexicon/*.tsv): what people type (term) and the words titles use (expansion).
CREATE TABLE lexicon (term TEXT NOT NULL, expansion TEXT NOT NULL, kind TEXT NOT NULL);

-- The ValueSets of valuesets/ (validated at load), as FHIR JSON.
CREATE TABLE valueset (url TEXT NOT NULL, version TEXT, id TEXT NOT NULL UNIQUE, resource TEXT NOT NULL);

-- Editorial guidance (guidance/*.toml), validated at load: one JSON record per code.
CREATE TABLE guidance (code TEXT PRIMARY KEY, record TEXT NOT NULL);
-- Each code without a file of its own, below a code (a category, a subcategory) that has one: the entry
-- applies to it (loaders/load.py inherit_editorial).
CREATE TABLE guidance_scope (code TEXT PRIMARY KEY, owner TEXT NOT NULL) WITHOUT ROWID;

-- CMS risk adjustment: each code's category in each model (hcc-v28, hcc-v24, ... rxhcc-v08), with the
-- payment years it holds in (loaders/hcc.py), and the pre-rendered $lookup properties of every model (the
-- current model's, V28, also sit in concept.hcc: a lookup that asks for no other reads no more rows).
CREATE TABLE hcc (code TEXT NOT NULL, model TEXT NOT NULL, category TEXT NOT NULL, years TEXT NOT NULL);
CREATE INDEX hcc_by_category ON hcc (model, category);
CREATE TABLE hcc_entries (code TEXT PRIMARY KEY, entries BLOB NOT NULL) WITHOUT ROWID;
-- Risk adjustment documentation guidance (guidance/hcc/families.toml), one JSON record per family of V28
-- categories, and `general` for every code that maps to a category of any model (guidance/risk.py).
CREATE TABLE risk_guidance (family TEXT PRIMARY KEY, record TEXT NOT NULL);

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
-- key): `notes` as a JSON list in tabular order ({"type", "text", "refs"?, "char"?}); `own`
-- and `inherited`, the $lookup entries they give the owner itself and the codes below it,
-- pre-rendered (terminology/fragments.py).
CREATE TABLE notes (
    owner     TEXT PRIMARY KEY,
    notes     TEXT NOT NULL,
    own       BLOB NOT NULL,
    inherited BLOB NOT NULL
);
"""


def chapter_key(number: str) -> str:
    return f"chapter:{number}"


def block_key(block_id: str) -> str:
    return f"block:{block_id}"
