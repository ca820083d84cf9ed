"""The clinical lexicon of ``lexicon/*.tsv`` (term, expansion, kind), read and checked when a release is built."""

from __future__ import annotations

from pathlib import Path

from ... import PROJECT_ROOT
from ...errors import LoadError

LEXICON_DIR = PROJECT_ROOT / "lexicon"
KINDS = frozenset({"abbreviation", "lay", "variant", "spelling", "eponym"})


def read_lexicon(folder: Path = LEXICON_DIR) -> list[tuple[str, str, str]]:
    """Every entry, in file order; a malformed line stops the load with its file and line number."""
    entries: list[tuple[str, str, str]] = []
    for path in sorted(folder.glob("*.tsv")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            fields = line.split("\t")
            if len(fields) != 3 or not all(f.strip() for f in fields):
                raise LoadError(f"{path.name}:{number}: expected term<TAB>expansion<TAB>kind, got {line!r}")
            term, expansion, kind = (f.strip() for f in fields)
            if kind not in KINDS:
                raise LoadError(f"{path.name}:{number}: kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
            if term != term.lower() or expansion != expansion.lower():
                raise LoadError(f"{path.name}:{number}: terms and expansions are lowercase")
            if not any(ch.isalpha() for ch in term):  # "2/2" would rewrite every "type 2"
                raise LoadError(f"{path.name}:{number}: a term has a letter")
            entries.append((term, expansion, kind))
    return entries
