"""Calls between processes over ZeroMQ: the data plane between gateways and actor hosts.

Ray places, names and restarts the hosts; it no longer carries their messages. A Ray call
costs caller and callee about a millisecond of CPU each on these machines, and a case takes
about nine messages; a ZeroMQ round trip costs tens of microseconds. Each host binds a ROUTER
socket and tells its address through one Ray call (`endpoint`); callers keep a DEALER socket
per host. Both ends speak CURVE with the cluster's key pair, and the host's ZAP authenticator
admits only that key (messaging/keys.py): a peer without it never gets a frame through.

Frames (msgpack, messaging/codec.py; never pickle):
- request: [request id, msgpack [method, [args...]]]; `method` one of the host's allowed calls;
  for a batch entry (`deliver`, `dispatch`) args is [[(name, (args...)), ...]] with each name
  one of the messages allowed there;
- answer: [request id, msgpack [true, value]] or [request id, msgpack [false, error]];
- one-way message (`send`): an empty request id, never answered: nobody waits for it, so the
  host logs its failures.
A request that does not decode or names anything not allowed is dropped and counted
(`WireServer.dropped`); it never reaches the host. If it had a request id, the caller gets an
error answer instead of waiting out its timeout.

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
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import zmq
from foureyes.errors import FoureyesError, HostDown, Unavailable
from foureyes.messaging import codec
from foureyes.messaging.keys import WireKeys, connect_securely, serve_securely
from foureyes.messaging.loop_socket import LoopSocket

log = logging.getLogger(__name__)
HWM = 100_000


class WireServer:
    """Answers calls to `target` (a host), each in its own task, so a slow call does not hold
    up the others (as Ray's max_concurrency did).

    Only the methods named in `calls` are reachable. `batches` names the entries that take one
    batch of messages (Mailbox): entry -> the message names allowed in its batches. A frame
    that does not decode, or names anything else, is dropped before the target sees it and
    counted in `dropped`; a caller waiting on it gets an error answer."""

    def __init__(self, target: object, keys: WireKeys, calls: Collection[str],
                 batches: Mapping[str, Collection[str]] | None = None) -> None:
        self.target = target
        self.keys = keys
        self.batches = {entry: frozenset(names) for entry, names in (batches or {}).items()}
        self.calls = frozenset(calls) | self.batches.keys()
        if any(name.startswith("_") for name in self.calls):
            raise ValueError("private methods are never messages")
        self.endpoint = ""
        self.drops = codec.Drops("wire")
        self._sock: LoopSocket | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def dropped(self) -> int:
        return self.drops.count

    def start(self, host: str) -> str:
        if self._sock is None:
            sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
            sock.setsockopt(zmq.RCVHWM, HWM)
            sock.setsockopt(zmq.SNDHWM, HWM)
            sock.setsockopt(zmq.LINGER, 0)
            serve_securely(sock, self.keys)
            port = sock.bind_to_random_port(f"tcp://{host}")
            self.endpoint = f"tcp://{host}:{port}"
            self._sock = LoopSocket(sock, self._received)
        return self.endpoint

    def _received(self, frames: list[bytes]) -> None:
        if len(frames) != 3:
            self.drops(f"{len(frames) - 1} frames instead of 2")
            return
        caller, rid, payload = frames
        try:
            method, args = self._request(payload)
        except codec.Malformed as e:
            self.drops(str(e))
            if rid:
                self._reply(caller, rid, "?", (False, FoureyesError(f"malformed request: {e}")))
            return
        task = asyncio.ensure_future(self._answer(caller, rid, method, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _request(self, payload: bytes) -> tuple[str, tuple[Any, ...]]:
        """[method, args] of an allowed method; for a batch entry, each message of the batch
        a [name, args] tuple of an allowed name (messages are tuples on the wire too)."""
        request = codec.decode(payload)
        if not (isinstance(request, list) and len(request) == 2 and isinstance(request[0], str)
                and isinstance(request[1], list)):
            raise codec.Malformed("not a [method, args] request")
        method, args = request
        if method not in self.calls:
            raise codec.Malformed(f"no such call: {method[:40]!r}")
        allowed = self.batches.get(method)
        if allowed is not None:
            if len(args) != 1 or not isinstance(args[0], list):
                raise codec.Malformed(f"{method} takes one batch")
            for message in args[0]:
                if not (isinstance(message, tuple) and len(message) == 2
                        and isinstance(message[0], str) and isinstance(message[1], tuple)):
                    raise codec.Malformed(f"a message in a {method} batch is not (name, args)")
                if message[0] not in allowed:
                    raise codec.Malformed(f"no such message for {method}: {message[0][:40]!r}")
        return method, tuple(args)

    async def _answer(self, caller: bytes, rid: bytes, method: str, args: tuple[Any, ...]) -> None:
        try:
            reply: tuple[bool, Any] = (True, await invoke(self.target, method, args))
        except Exception as e:
            reply = (False, e)
        if not rid:
            _log_failures(method, reply)
            return
        self._reply(caller, rid, method, reply)

    def _reply(self, caller: bytes, rid: bytes, method: str, reply: tuple[bool, Any]) -> None:
        try:
            data = codec.encode(list(reply))
        except Exception:  # a value the codec does not know still reaches the caller, as text
            log.exception("wire: answer to %s cannot be encoded", method)
            data = codec.encode([False, FoureyesError(f"{method} failed: {reply[1]}")])
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
    are refused even here, where the wire's allow-list has been passed or is not needed (a
    mailbox of this process)."""
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

    def __init__(self, resolve: Callable[[], Awaitable[str]], keys: WireKeys,
                 timeout: float = 15.0) -> None:
        self._resolve = resolve
        self.keys = keys
        self.drops = codec.Drops("wire client")
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
                connect_securely(sock, self.keys)
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
            except HostDown:
                raise  # waiting does not bring it back: the caller retries, not us
            except Unavailable:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    def _answered(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            self.drops(f"an answer of {len(frames)} frames")
            return
        rid, data = frames
        fut = self._waiting.pop(rid, None)
        if fut is None or fut.done():
            return
        try:
            answer = codec.decode(data)
            if not (isinstance(answer, list) and len(answer) == 2 and isinstance(answer[0], bool)
                    and (answer[0] or isinstance(answer[1], Exception))):
                raise codec.Malformed("not an [ok, value] answer")
        except codec.Malformed as e:
            self.drops(str(e))
            fut.set_exception(FoureyesError(f"malformed answer: {e}"))
            return
        fut.set_result((answer[0], answer[1]))

    async def call(self, method: str, *args: Any) -> Any:
        sock = self._sock or await self._connect()
        rid = next(self._ids).to_bytes(8, "little")
        fut: asyncio.Future[tuple[bool, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        try:
            self._send(sock, [rid, codec.encode([method, list(args)])], method)
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
        self._send(sock, [b"", codec.encode([method, list(args)])], method)

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
