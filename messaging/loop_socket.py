"""A ZeroMQ socket read by the event loop's own reader callback.

pyzmq's asyncio sockets make a future for every receive and every send, and check the socket's
state through enum flags several times a message: on the case path that was the largest share
of the gateway's own Python time (cProfile at 100 cases/s: ~170 enum calls a case). Here the
socket's file descriptor is registered with the loop once; when it signals, every waiting
message is handed to `on_message` in the same callback. Sends never wait: high-water marks are
far above what a live peer leaves unread, so a full queue means a stuck peer (zmq.Again).

ZeroMQ's descriptor signals edges, not levels, and any operation on the socket (a send too) may
consume an edge; so the socket's EVENTS are checked after each send, and reading goes on until
EVENTS says nothing is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

import zmq

log = logging.getLogger(__name__)
_POLLIN = int(zmq.POLLIN)
_EVENTS = int(zmq.EVENTS)
_NOBLOCK = int(zmq.NOBLOCK)
_BURST = 256  # messages handled in one callback before others get a turn


class LoopSocket:
    def __init__(self, sock: zmq.Socket[bytes], on_message: Callable[[list[bytes]], None]
                 ) -> None:
        self.sock = sock
        self._on_message = on_message
        self._loop = asyncio.get_running_loop()
        self._fd = cast(int, sock.getsockopt(zmq.FD))
        self._loop.add_reader(self._fd, self._drain)
        self._scheduled = False
        self._schedule()  # what arrived before the reader was registered

    def send(self, frames: list[bytes]) -> None:
        """Queue a message at once; zmq.Again if the peer has left HWM messages unread."""
        sock = self.sock
        sock.send_multipart(frames, _NOBLOCK)
        if cast(int, sock.getsockopt(_EVENTS)) & _POLLIN:
            self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        sock = self.sock
        if sock.closed:
            return
        for _ in range(_BURST):
            if not cast(int, sock.getsockopt(_EVENTS)) & _POLLIN:
                return
            frames = sock.recv_multipart(_NOBLOCK)
            try:
                self._on_message(frames)
            except Exception:  # one bad message must not stop the ones behind it
                log.exception("a ZeroMQ message could not be handled")
            if sock.closed:  # on_message may close it
                return
        self._schedule()

    def close(self) -> None:
        if not self.sock.closed:
            self._loop.remove_reader(self._fd)
            self.sock.close()
