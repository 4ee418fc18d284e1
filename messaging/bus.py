"""ZeroMQ pushes between actor hosts and gateways.

Each gateway binds one PULL socket (its inbox); every actor host keeps a PUSH socket per
gateway (its outbox). PUSH queues on a connecting pipe instead of dropping, unlike PUB/SUB
(measured: 46 % delivered in a burst at the default HWM). A push is still only a hint: what
must survive is in SQLite first, and a lost offer is caught by the offer timeout.

The inbox forwards what it hears to seats, watchers and the feed, so it hears only the
cluster's own hosts: the PUSH/PULL pair speaks CURVE with the cluster's key pair and the
gateway's ZAP authenticator admits only that key (messaging/keys.py). Frames (JSON, UTF-8):
- [topic, message]: `seat/<id>` (an offer or notice to a seat's stream), `case/<id>` (a case's
  new state for its watchers);
- a case push adds the feed's frames: [`case/<id>`, update, `case.<kind>`, event]; the last two
  are published on the feed byte for byte.
A frame of another shape, or a message that is not a JSON object, is dropped and counted
(`Inbox.dropped`).

The Feed's PUB socket is for the bank's other systems, not the service's processes, and
speaks plain ZeroMQ.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

import zmq
from foureyes.messaging.codec import Drops
from foureyes.messaging.keys import WireKeys, connect_securely, serve_securely
from foureyes.messaging.loop_socket import LoopSocket

log = logging.getLogger(__name__)
HWM = 100_000
LATEST = 20_000  # case topics whose newest update an inbox keeps


def _json(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


class Outbox:
    """Used inside actor hosts (synchronous, non-blocking sends)."""

    def __init__(self, keys: WireKeys) -> None:
        self.keys = keys
        self._ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        self._sockets: dict[str, zmq.Socket[bytes]] = {}
        self._endpoints: dict[str, str] = {}
        self.dropped = 0

    def attach(self, gateway_id: str, endpoint: str) -> None:
        if self._endpoints.get(gateway_id) == endpoint:
            return
        self.detach(gateway_id)
        sock = self._ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.SNDHWM, HWM)
        sock.setsockopt(zmq.LINGER, 1000)
        connect_securely(sock, self.keys)
        sock.connect(endpoint)
        self._sockets[gateway_id], self._endpoints[gateway_id] = sock, endpoint

    def detach(self, gateway_id: str) -> None:
        sock = self._sockets.pop(gateway_id, None)
        self._endpoints.pop(gateway_id, None)
        if sock is not None:
            sock.close()

    def send(self, topic: str, message: dict[str, Any], gateway_id: str | None = None) -> None:
        """To one gateway, or to all of them when gateway_id is None."""
        self._send([topic.encode(), _json(message)], gateway_id)

    def send_case(self, update: dict[str, Any], event: dict[str, Any]) -> None:
        """A case's new state for its watchers, with the event for the feed in frames of its
        own: gateways publish those bytes on the feed as they are, without decoding them."""
        self._send([f"case/{update['case_id']}".encode(), _json(update),
                    f"case.{event['kind']}".encode(), _json(event)], None)

    def _send(self, payload: list[bytes], gateway_id: str | None) -> None:
        targets = (list(self._sockets.values()) if gateway_id is None
                   else [s for g, s in self._sockets.items() if g == gateway_id])
        for sock in targets:
            try:
                sock.send_multipart(payload, flags=zmq.NOBLOCK)
            except zmq.Again:
                self.dropped += 1
                log.warning("bus: dropped a push on %s (peer too slow)", payload[0].decode())

    def close(self) -> None:
        for gid in list(self._sockets):
            self.detach(gid)


class Feed:
    """The case event feed: a PUB socket that other bank systems (OA, archives, core
    write-back) subscribe to. Each message is [topic, JSON]: topic `case.<event kind>`, e.g.
    `case.approved`, so subscribers can filter by prefix (`case.` for all)."""

    def __init__(self, host: str, port: int) -> None:
        self._sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUB)
        self._sock.setsockopt(zmq.SNDHWM, HWM)
        self._sock.setsockopt(zmq.LINGER, 0)
        if port:
            self._sock.bind(f"tcp://{host}:{port}")
        else:
            port = self._sock.bind_to_random_port(f"tcp://{host}")
        self.endpoint = f"tcp://{host}:{port}"
        self.published = 0

    def publish(self, topic: bytes, payload: bytes) -> None:
        """The frames as a case host made them (Outbox.send_case)."""
        try:
            self._sock.send_multipart([topic, payload], flags=zmq.NOBLOCK)
            self.published += 1
        except zmq.Again:
            log.warning("feed: dropped an event (subscribers too slow)")

    def publish_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """A signed checkpoint of audit chain heads (store/chain.py), topic `audit.checkpoint`:
        a subscriber keeps them elsewhere, to compare with `foureyes audit verify`."""
        self.publish(b"audit.checkpoint", _json(checkpoint))

    def close(self) -> None:
        self._sock.close()


class Inbox:
    """A gateway's inbox: routes each pushed message to local subscribers by topic, and hands
    the feed frames of case pushes to `on_event` (topic, payload) as they came."""

    def __init__(self, keys: WireKeys, host: str = "127.0.0.1",
                 on_event: Callable[[bytes, bytes], None] | None = None) -> None:
        self._on_event = on_event
        self._raw: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PULL)
        self._raw.setsockopt(zmq.RCVHWM, HWM)
        self._raw.setsockopt(zmq.LINGER, 0)
        serve_securely(self._raw, keys)
        port: int = self._raw.bind_to_random_port(f"tcp://{host}")
        self.endpoint = f"tcp://{host}:{port}"
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._sock: LoopSocket | None = None
        self.received = 0
        self.drops = Drops("inbox")
        # The newest message per recent case topic: a watch that starts after a change was
        # pushed reads it here instead of asking the case's host.
        self._latest: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def start(self) -> None:
        self._sock = LoopSocket(self._raw, self._received)

    def subscribe(self, topic: str) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers[topic].add(q)
        return q

    def unsubscribe(self, topic: str, q: asyncio.Queue[dict[str, Any]]) -> None:
        subs = self._subscribers.get(topic)
        if subs is not None:
            subs.discard(q)
            if not subs:
                del self._subscribers[topic]

    def latest(self, topic: str) -> dict[str, Any] | None:
        return self._latest.get(topic)

    def _remember(self, topic: str, message: dict[str, Any]) -> None:
        known = self._latest.get(topic)
        if known is not None and known.get("version", 0) > message.get("version", 0):
            return  # pushes from different batches may overtake each other
        self._latest[topic] = message
        self._latest.move_to_end(topic)
        if len(self._latest) > LATEST:
            self._latest.popitem(last=False)

    @property
    def dropped(self) -> int:
        return self.drops.count

    def _received(self, frames: list[bytes]) -> None:
        try:
            topic = frames[0].decode()
            is_case = topic.startswith("case/")
            if not ((len(frames) == 2 and topic.startswith("seat/"))
                    or (len(frames) in (2, 4) and is_case)):
                raise ValueError(f"{len(frames)} frames on topic {topic[:40]!r}")
            subs = self._subscribers.get(topic)
            message: Any = None
            if subs or is_case:  # else nobody here reads it: not worth decoding
                message = json.loads(frames[1])
                if not isinstance(message, dict):
                    raise ValueError("the message is not a JSON object")
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            self.drops(str(e)[:200])
            return
        self.received += 1
        # the event frame goes to the feed undecoded: only the cluster's hosts can push here
        if len(frames) == 4 and self._on_event is not None:
            self._on_event(frames[2], frames[3])
        if is_case:
            self._remember(topic, message)
        for q in subs or ():
            q.put_nowait(message)

    async def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        else:
            self._raw.close()
