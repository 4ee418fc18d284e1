"""The console's HTTP server: uvicorn inside the service's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Generator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the service handles SIGINT/SIGTERM and stops the console itself


class ConsoleServer:
    def __init__(self, app: ASGIApp, host: str, port: int,
                 tls: tuple[Path, Path] | None = None) -> None:
        """`tls`: (certificate chain, key) to speak HTTPS."""
        cert, key = tls or (None, None)
        self._config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                      lifespan="off", ws="websockets-sansio",
                                      ws_ping_interval=20.0, timeout_graceful_shutdown=3,
                                      ssl_certfile=cert, ssl_keyfile=key,
                                      ssl_cert_reqs=ssl.CERT_NONE, server_header=False)
        self._server = _Server(self._config)
        self._task: asyncio.Task[None] | None = None
        self.host = host
        self.port = port
        self.scheme = "https" if tls else "http"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/"

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]  # port 0: the one the system chose
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await self._task
        self._task = None
