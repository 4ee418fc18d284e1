"""Calls between processes over ZeroMQ: the data plane between gateways and actor hosts.

Ray places, names and restarts the hosts; it no longer carries their messages. A Ray actor call
costs caller and callee about a millisecond of CPU each on these machines, and a case takes
about nine messages; a ZeroMQ round trip costs tens of microseconds. Each host binds a ROUTER
socket and tells its address through one Ray call (`endpoint`); callers keep a DEALER socket
per host. A request is [request id, pickle of (method, args)], the answer [request id, pickle
of (ok, value or error)]. A one-way message (`send`) has an empty request id and no answer:
nobody waits for it, so the host logs its failures.

Like a Ray call with `max_task_retries=0`, a message in flight when a host dies is lost: the
caller gets Unavailable as soon as the host's connection closes (or after `timeout`, if it
hangs instead) and looks the host's address up again, so the next message reaches the
restarted host. What must survive is in SQLite before it is answered.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import pickle
from collections.abc import Awaitable, Callable
from typing import Any

import zmq
from foureyes.errors import FoureyesError, Unavailable
from foureyes.messaging.loop_socket import LoopSocket

log = logging.getLogger(__name__)
HWM = 100_000


class WireServer:
    """Answers calls to the public methods of `target` (a host), each in its own task, so a
    slow call does not hold up the others (as Ray's max_concurrency did)."""

    def __init__(self, target: object) -> None:
        self.target = target
        self.endpoint = ""
        self._sock: LoopSocket | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, host: str) -> str:
        if self._sock is None:
            sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
            sock.setsockopt(zmq.RCVHWM, HWM)
            sock.setsockopt(zmq.SNDHWM, HWM)
            sock.setsockopt(zmq.LINGER, 0)
            port = sock.bind_to_random_port(f"tcp://{host}")
            self.endpoint = f"tcp://{host}:{port}"
            self._sock = LoopSocket(sock, self._received)
        return self.endpoint

    def _received(self, frames: list[bytes]) -> None:
        caller, rid, payload = frames
        task = asyncio.ensure_future(self._answer(caller, rid, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, caller: bytes, rid: bytes, payload: bytes) -> None:
        method, args = pickle.loads(payload)
        try:
            reply: tuple[bool, Any] = (True, await invoke(self.target, method, args))
        except Exception as e:
            reply = (False, e)
        if not rid:
            _log_failures(method, reply)
            return
        try:
            data = pickle.dumps(reply, protocol=5)
        except Exception:  # an error that does not pickle still reaches the caller as text
            log.exception("wire: answer to %s does not pickle", method)
            data = pickle.dumps((False, FoureyesError(f"{method} failed: {reply[1]}")), protocol=5)
        if self._sock is not None:  # else closed meanwhile: the caller learns it from its link
            self._sock.send([caller, rid, data])

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._sock is not None:
            self._sock.close()
            self._sock = None


async def invoke(target: object, method: str, args: tuple[Any, ...], noun: str = "call"
                 ) -> Any:
    """`target.method(*args)`, awaited if it is a coroutine. Private methods (a leading `_`)
    are refused: only a host's public methods are messages."""
    if method.startswith("_"):
        raise FoureyesError(f"no such {noun}: {method}")
    answer = getattr(target, method)(*args)
    return await answer if inspect.isawaitable(answer) else answer


def _log_failures(method: str, reply: tuple[bool, Any]) -> None:
    """A one-way message failed, or some of a batch of them (`deliver` answers errors as
    values)."""
    ok, value = reply
    if not ok:
        errors = [value]
    elif isinstance(value, list):
        errors = [v for v in value if isinstance(v, Exception)]
    else:
        errors = []
    for error in errors:
        log.warning("wire: one-way %s failed: %s", method, error)


class WireClient:
    """Calls to one host. `resolve` finds the host's endpoint (a Ray call, which also waits
    for a restarting host); it is called again after a call went unanswered."""

    def __init__(self, resolve: Callable[[], Awaitable[str]], timeout: float = 15.0) -> None:
        self._resolve = resolve
        self.timeout = timeout
        self._sock: LoopSocket | None = None
        self._monitor: LoopSocket | None = None
        self._lock: asyncio.Lock | None = None
        self._waiting: dict[bytes, asyncio.Future[tuple[bool, Any]]] = {}
        self._ids = itertools.count()

    async def _connect(self) -> LoopSocket:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._sock is None:
                endpoint = await self._look_up()
                sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
                sock.setsockopt(zmq.SNDHWM, HWM)
                sock.setsockopt(zmq.RCVHWM, HWM)
                sock.setsockopt(zmq.LINGER, 0)
                sock.connect(endpoint)
                # the only event asked for is EVENT_DISCONNECTED
                monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
                conn = LoopSocket(sock, self._answered)
                self._monitor = LoopSocket(monitor, functools.partial(self._gone, conn))
                self._sock = conn
            return self._sock

    def _gone(self, conn: LoopSocket, _event: list[bytes]) -> None:
        """The host's connection closed: its process is gone, and Ray restarts it at another
        address. Fail what waits for the old one now, not after the timeout; the next call
        looks the host up again."""
        if self._sock is conn:
            self.reset("an actor host went away; retry")

    async def _look_up(self) -> str:
        """The host's address, asked again while Ray refuses (it does while it restarts the
        host), until the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                return await self._resolve()
            except Unavailable:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    def _answered(self, frames: list[bytes]) -> None:
        rid, data = frames
        fut = self._waiting.pop(rid, None)
        if fut is not None and not fut.done():
            fut.set_result(pickle.loads(data))

    async def call(self, method: str, *args: Any) -> Any:
        sock = self._sock or await self._connect()
        rid = next(self._ids).to_bytes(8, "little")
        fut: asyncio.Future[tuple[bool, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        try:
            self._send(sock, [rid, pickle.dumps((method, args), protocol=5)], method)
            async with asyncio.timeout(self.timeout):
                ok, value = await fut
        except TimeoutError:
            self.reset(f"the host left {method} unanswered for {self.timeout:g} s; retry")
            raise Unavailable(f"no answer to {method} in {self.timeout:g} s; "
                              "the host may be restarting, retry") from None
        finally:
            self._waiting.pop(rid, None)
        if not ok:
            raise value
        return value

    async def send(self, method: str, *args: Any) -> None:
        """A one-way message: sent, not answered. Lost if the host dies before handling it."""
        sock = self._sock or await self._connect()
        self._send(sock, [b"", pickle.dumps((method, args), protocol=5)], method)

    def _send(self, sock: LoopSocket, frames: list[bytes], method: str) -> None:
        try:
            sock.send(frames)
        except zmq.Again:  # HWM messages unread: the host is stuck, or gone without a word
            why = f"the host has left {HWM} messages unread; it may be restarting, retry"
            self.reset(why)
            raise Unavailable(f"{method} not sent: {why}") from None

    def reset(self, why: str = "the connection to the host was closed; retry") -> None:
        """Forget the connection: the next call looks the host up again. Calls still waiting
        fail now with `why`: their answers would come on the closed socket, so they would
        otherwise each wait out their own timeout."""
        waiting, self._waiting = self._waiting, {}
        for fut in waiting.values():
            if not fut.done():
                fut.set_exception(Unavailable(why))
        if self._sock is not None:
            self._sock.sock.disable_monitor()
            self._sock.close()
            self._sock = None
        if self._monitor is not None:
            self._monitor.close()
            self._monitor = None
