"""A time budget for the request being answered on this thread: the work that may grow with what a
request asks (a store query over many codes, a walk over a large code system) checks it and stops
with ``too-costly`` when it runs out, so one request cannot hold a worker for long.

The HTTP front starts a budget around each request; code that runs outside one (tests, the loader)
has none, and nothing is cut short. Budgets are per thread (threads do not share one)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from .errors import TooCostly

_local = threading.local()


@contextmanager
def budget(seconds: float | None):
    """Work on this thread within ``seconds`` from now (None: no limit)."""
    outer = getattr(_local, "deadline", None), getattr(_local, "seconds", None)
    _local.deadline = None if seconds is None else time.monotonic() + seconds
    _local.seconds = seconds
    try:
        yield
    finally:
        _local.deadline, _local.seconds = outer


def exceeded() -> bool:
    deadline = getattr(_local, "deadline", None)
    return deadline is not None and time.monotonic() > deadline


def check() -> None:
    """Raise ``too-costly`` when this thread's budget has run out."""
    if exceeded():
        raise too_costly()


def too_costly() -> TooCostly:
    return TooCostly(
        f"This request needs more work than one request may take ({_local.seconds:g} s of the "
        "server's time); narrow it (a more specific filter or pattern, a smaller count) and ask again"
    )
