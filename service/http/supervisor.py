"""granian's process supervisor, with the workers sharing one listening socket.

On Linux granian gives each worker a listening socket of its own (SO_REUSEPORT): when a worker dies,
the kernel resets the connections waiting in that worker's queue, although the other workers are
alive. Workers that accept from one shared socket (granian's way on other systems) lose none: a
killed worker costs only the requests it was answering. With ``respawn_failed_workers`` the dead
worker is replaced at once; granian gives up only on a crash loop (a worker dying again within 5.5 s
of being replaced), and then exits for the system's supervisor to restart it.

This reaches into granian's server class (``_init_shared_socket``); pyproject.toml pins granian's
minor version, and tests/test_faults.py kills workers under load to keep it honest.
"""

from __future__ import annotations

import socket

from granian.constants import Interfaces, Loops, RuntimeModes
from granian.http import HTTP1Settings
from granian.net import SocketSpec
from granian.server.mp import MPServer

from ..config import Settings


class Supervisor(MPServer):  # worker processes (CPython with the GIL)
    def __init__(self, target: str, settings: Settings):
        # uvloop and a single-threaded runtime per worker: measured here, 15-25% more lookups answered than
        # granian's defaults (asyncio, multi-threaded), most of it at one connection (bench/README.md).
        super().__init__(
            target,
            address=settings.host,
            port=settings.port,
            interface=Interfaces.RSGI,
            workers=settings.workers,
            loop=Loops.uvloop,
            runtime_mode=RuntimeModes.st,
            respawn_failed_workers=True,
            log_access=False,
            backpressure=settings.connections,
            backlog=max(1024, settings.connections),
            http1_settings=HTTP1Settings(header_read_timeout=int(settings.header_timeout * 1000)),
        )

    def _init_shared_socket(self) -> None:
        self._ssp = None
        holder = SocketSpec(self.bind_addr, self.bind_port, self.backlog).build()
        self._shd = holder  # type: ignore[assignment]  # granian declares these attributes None
        self._sfd = holder.get_fd()
        self._sso = socket.socket(fileno=self._sfd)
        self._sso.set_inheritable(True)
