"""Regular expressions from clients, with one set of limits whichever engine runs them: RE2 (linear
time, so no pattern can hang a worker), at most MAX_PATTERN characters, and an automaton of at most
8 MB (a larger pattern fails to compile)."""

from __future__ import annotations

import re2

from .errors import InvalidRequest

MAX_PATTERN = 1000  # characters
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 8 << 20
_LINES = re2.Options()
_LINES.max_mem = 8 << 20
_LINES.never_nl = True  # no match crosses a line


def compile_pattern(pattern: str):
    """The compiled pattern (its full match is what FHIR's regex filter asks); too long is a 400
    ``too-costly``, and an invalid one raises ``re2.error`` for the caller to report in its words."""
    _check_length(pattern)
    return re2.compile(pattern, options=_OPTIONS)


def compile_whole_lines(pattern: str):
    """The pattern as a bytes regex that matches whole lines of newline-joined values: one pass over many
    values finds those the pattern matches in full, each match within one line."""
    _check_length(pattern)
    return re2.compile(b"(?m)^(?:" + pattern.encode() + b")$", options=_LINES)


def _check_length(pattern: str) -> None:
    if len(pattern) > MAX_PATTERN:
        raise InvalidRequest(f"The regular expression is longer than {MAX_PATTERN} characters", issue_code="too-costly")
