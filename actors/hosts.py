"""Ray wrappers: the processes that host the plain actor classes.

Each host is a Ray actor named after the service instance, so peers find each other by name
(`ray.get_actor`) even after Ray restarts one of them; case host 0 also holds the dispatcher.
A restarted host has lost its memory and rebuilds it: case hosts from their database, the
dispatcher from the case hosts and the gateways' heartbeats. Messages between hosts and
gateways travel over ZeroMQ (messaging/wire.py); a Ray call only tells a host's address, and
hands each host the cluster's CURVE key pair in its constructor arguments (WireSettings), so
the key never crosses ZeroMQ.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import ray
from foureyes.actors.case import CaseSpec
from foureyes.actors.case_shard import CaseShard
from foureyes.actors.customer import CustomerShard, Observation
from foureyes.actors.dispatch import Dispatcher
from foureyes.actors.heap import settle_heap
from foureyes.actors.shards import actor_name, shard_of
from foureyes.errors import FoureyesError, HostDown, MissingStore, Tampered, Unavailable
from foureyes.masking import feed_view, mask_logs
from foureyes.messaging.bus import Outbox
from foureyes.messaging.keys import WireKeys
from foureyes.messaging.mailbox import LocalMailbox, Mailbox, Message, deliver
from foureyes.messaging.wire import WireClient, WireServer
from foureyes.store import backend, chain_verify, layout
from foureyes.store.cases import CaseStore
from foureyes.store.customers import CustomerStore
from foureyes.store.sealing import AtRest

log = logging.getLogger(__name__)
T = TypeVar("T")
DISPATCHER = "dispatcher"

GATEWAY_FRESH_SECONDS = 30.0  # a registered gateway not heard of for longer is gone


def _kv_put(key: bytes, entry: dict[str, Any]) -> None:
    """Ray has no public key-value store; its internal one (in the GCS, which outlives any
    host) is what Ray Serve keeps its own state in."""
    from ray.experimental import internal_kv

    internal_kv._internal_kv_put(key, json.dumps(entry).encode(), overwrite=True,
                                 namespace="foureyes")


def _kv_del(key: bytes) -> None:
    from ray.experimental import internal_kv

    with contextlib.suppress(Exception):  # Ray may be going down with the service
        internal_kv._internal_kv_del(key, namespace="foureyes")


def _kv_entries(prefix: bytes) -> dict[str, dict[str, Any]]:
    """The entries under `prefix`, by the rest of their key."""
    from ray.experimental import internal_kv

    found: dict[str, dict[str, Any]] = {}
    for key in internal_kv._internal_kv_list(prefix, namespace="foureyes"):
        raw = internal_kv._internal_kv_get(key, namespace="foureyes")
        if raw is not None:
            found[key[len(prefix):].decode()] = json.loads(raw)
    return found


def _gateway_key(instance: str, gateway_id: str = "") -> bytes:
    return f"foureyes/{instance}/gateways/{gateway_id}".encode()


def register_gateway(instance: str, gateway_id: str, endpoint: str) -> None:
    """Where a gateway's inbox is: a restarted host attaches to every gateway before its
    first commit, so the events and pushes of its recovery reach them instead of waiting for
    their next heartbeat."""
    _kv_put(_gateway_key(instance, gateway_id), {"endpoint": endpoint, "at": time.time()})


def unregister_gateway(instance: str, gateway_id: str) -> None:
    _kv_del(_gateway_key(instance, gateway_id))


def registered_gateways(instance: str) -> dict[str, str]:
    """gateway id -> inbox endpoint, of the gateways heard of recently."""
    try:
        return {gateway_id: entry["endpoint"]
                for gateway_id, entry in _kv_entries(_gateway_key(instance)).items()
                if time.time() - entry["at"] < GATEWAY_FRESH_SECONDS}
    except Exception:  # without it the gateways' next heartbeat attaches them
        log.warning("could not read the registered gateways", exc_info=True)
        return {}


def _service_key(instance: str = "") -> bytes:
    return f"foureyes/services/{instance}".encode()


def register_service(instance: str, case_shards: int, customer_shards: int) -> None:
    """A service whose hosts are up, for gateways that join it (`serve --join`)."""
    _kv_put(_service_key(instance), {"case_shards": case_shards,
                                     "customer_shards": customer_shards})


def unregister_service(instance: str) -> None:
    _kv_del(_service_key(instance))


def running_services() -> dict[str, tuple[int, int]]:
    """instance -> (case shards, customer shards), of the services running in this Ray."""
    return {instance: (entry["case_shards"], entry["customer_shards"])
            for instance, entry in _kv_entries(_service_key()).items()}


HOST_OPTIONS: dict[str, Any] = {
    "num_cpus": 0,  # hosts are mostly waiting on I/O; don't let them starve Ray's scheduler
    "max_restarts": -1,
    "max_task_retries": 0,
    "max_concurrency": 10_000,
}


DISK_RESOURCE = "foureyes_disk_"  # a node resource naming its disk, where addresses are shared


def node_address() -> str:
    """This node's address in the cluster, which the other nodes reach."""
    address: str = ray.util.get_node_ip_address()
    return address


def disk_of(node: Mapping[str, Any]) -> str:
    """What a shard's SQLite file is pinned to: the node's disk, named by a custom resource
    (`--resources '{"foureyes_disk_a": 1}'`) when given, else the node's address. Not Ray's
    node id: a node that returns after a crash has a new one, and the same disk."""
    for resource in sorted(node.get("Resources", {})):
        if resource.startswith(DISK_RESOURCE):
            return resource
    return f"node:{node['NodeManagerAddress']}"


def place(shards: list[str], recorded: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """shard -> (Ray node id, disk): a shard recorded on a disk goes to the live node that
    has it, or is refused (Unavailable) until that node is back; a new one to the live node
    that holds the fewest, so hosts spread over the cluster."""
    alive = sorted((n for n in ray.nodes() if n.get("Alive")), key=disk_of)
    by_disk = {disk_of(n): n["NodeID"] for n in alive}
    load = dict.fromkeys(by_disk, 0)
    placed: dict[str, tuple[str, str]] = {}
    for shard in shards:
        disk = recorded.get(shard)
        if disk is not None:
            if disk not in by_disk:
                raise Unavailable(f"{shard} is held by {disk}, which is not in the cluster: "
                                  f"start that node again (its file stays there)")
            placed[shard] = (by_disk[disk], disk)
            load[disk] += 1
    for shard in shards:
        if shard not in placed:
            disk = min(load, key=lambda d: load[d])
            placed[shard] = (by_disk[disk], disk)
            load[disk] += 1
    return placed


class Peers:
    """The other actors of one service instance, found by name on first use: over the wire,
    through a Mailbox, or directly when they live in this process (`local`)."""

    def __init__(self, instance: str, case_shards: int, keys: WireKeys) -> None:
        self.instance, self.case_shards, self.keys = instance, case_shards, keys
        self._handles: dict[str, Any] = {}
        self._links: dict[str, WireClient] = {}
        self._mailboxes: dict[str, Mailbox | LocalMailbox] = {}
        self.local: dict[str, object] = {}  # by actor name: the actors this process holds

    def get(self, role: str, shard: int | None = None) -> Any:
        name = actor_name(self.instance, role, shard)
        if name not in self._handles:
            self._handles[name] = ray.get_actor(name)
        return self._handles[name]

    def link(self, role: str, shard: int | None = None) -> WireClient:
        name = actor_name(self.instance, role, shard)
        if name not in self._links:

            async def resolve() -> str:
                # looked up by name each time: a host whose node died is made again under
                # its name (Service supervises), so an old handle would stay dead
                try:
                    endpoint: str = await result(self.get(role, shard).endpoint.remote())
                except HostDown:
                    self._handles.pop(name, None)
                    raise
                except ValueError as e:  # no live actor of that name: given up, being remade
                    self._handles.pop(name, None)
                    raise HostDown(f"{name} is not served now, retry: {e}") from None
                return endpoint

            self._links[name] = WireClient(resolve, self.keys)
        return self._links[name]

    def mailbox(self, role: str, shard: int | None = None) -> Mailbox | LocalMailbox:
        name = actor_name(self.instance, role, shard)
        if name not in self._mailboxes:
            local = self.local.get(name)
            if local is not None:
                self._mailboxes[name] = LocalMailbox(local)
            elif role == DISPATCHER:  # case host 0 holds it; its messages enter by `dispatch`
                self._mailboxes[name] = Mailbox(self.link("cases", 0), "dispatch")
            else:
                self._mailboxes[name] = Mailbox(self.link(role, shard))
        return self._mailboxes[name]

    def dispatcher(self) -> Mailbox | LocalMailbox:
        return self.mailbox(DISPATCHER)

    def case_host(self, case_id: str) -> Mailbox | LocalMailbox:
        return self.mailbox("cases", shard_of(case_id, self.case_shards))


class _Lazy(Generic[T]):
    """A value built by a coroutine on first use. Ray runs an actor's __init__ outside its
    event loop, so a host opens its store (and recovers) on the first message instead."""

    def __init__(self, build: Callable[[], Awaitable[T]]) -> None:
        self._build = build
        self.value: T | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> T:
        if self.value is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self.value is None:
                    self.value = await self._build()
        return self.value


class _DispatchLink:
    def __init__(self, peers: Peers) -> None:
        self.peers = peers

    def enqueue(self, entries: list[dict[str, Any]]) -> None:
        self.peers.dispatcher().tell("enqueue", entries)

    def finished(self, seat_id: str, case_id: str) -> None:
        self.peers.dispatcher().tell("finished", seat_id, case_id)

    def adopt(self, reviews: list[dict[str, Any]]) -> None:
        self.peers.dispatcher().tell("adopt", reviews)

    def withdraw(self, case_id: str, reason: str) -> None:
        self.peers.dispatcher().tell("withdraw", case_id, reason)


class _CaseLink:
    def __init__(self, peers: Peers) -> None:
        self.peers = peers

    def offered(self, case_id: str, seat_id: str, gateway_id: str, expires_in_ms: int) -> None:
        self.peers.case_host(case_id).tell("offered", case_id, seat_id, gateway_id, expires_in_ms)

    def offer_lapsed(self, case_id: str, seat_id: str, why: str) -> None:
        self.peers.case_host(case_id).tell("offer_lapsed", case_id, seat_id, why)

    def requeue(self, case_id: str, why: str) -> None:
        self.peers.case_host(case_id).tell("requeue", case_id, why)

    def escalate(self, case_id: str, why: str) -> None:
        self.peers.case_host(case_id).tell("escalate", case_id, why)

    async def begin_review(self, case_id: str, seat_id: str, operator_id: str) -> dict[str, Any]:
        details: dict[str, Any] = await self.peers.case_host(case_id).ask(
            "begin_review", case_id, seat_id, operator_id)
        return details


def _restarted() -> bool:
    """Whether Ray restarted this host: its database was made before, so must be found."""
    with warnings.catch_warnings():  # Ray's own property trips its deprecation warning
        warnings.simplefilter("ignore")
        return bool(ray.get_runtime_context().was_current_actor_reconstructed)


@dataclass(frozen=True)
class WireSettings:
    """How a host's wire is reached and secured: the cluster's key pair, and the address to
    bind ("" for the node's address, which other machines reach; loopback on one machine)."""

    keys: WireKeys
    host: str = ""


# What may arrive over the wire, by name; every other name is dropped before a host sees it.
# Messages to the dispatcher, which case host 0 holds (entry `dispatch`):
DISPATCHER_MESSAGES = frozenset({
    "login", "logout", "set_presence", "accept", "decline", "reassign", "take_back", "board",
    "enqueue", "finished", "adopt", "withdraw", "holder_of"})
# Messages to a case host (entry `deliver`): from gateways and from the dispatcher.
CASE_MESSAGES = frozenset({
    "get", "cancel", "supplement", "decide", "offered", "offer_lapsed", "requeue", "escalate",
    "begin_review", "evidence_target", "add_image"})


class _Served:
    """What every host has: its address on the wire, bound on first request."""

    _wire: WireServer | None = None
    wire_settings: WireSettings
    WIRE_CALLS: ClassVar[frozenset[str]] = frozenset()  # called directly (by a Batcher)
    WIRE_BATCHES: ClassVar[Mapping[str, frozenset[str]]] = {}  # entry -> messages in its batches

    async def endpoint(self) -> str:
        if self._wire is None:
            self._wire = WireServer(self, self.wire_settings.keys, self.WIRE_CALLS,
                                    self.WIRE_BATCHES)
        return self._wire.start(self.wire_settings.host or ray.util.get_node_ip_address())

    async def dropped(self) -> int:
        """Frames this host's wire dropped (undecodable, or naming what is not allowed)."""
        return self._wire.dropped if self._wire is not None else 0

    def wire_keys(self) -> WireKeys:
        """The cluster's CURVE key pair, for a gateway joining the service: it is a Ray
        driver of this cluster already, which can read every host's constructor arguments."""
        return self.wire_settings.keys

    def node(self) -> str:
        """The Ray node this host runs on (where its SQLite file must be)."""
        node_id: str = ray.get_runtime_context().get_node_id()
        return node_id

    def _close_wire(self) -> None:
        if self._wire is not None:
            self._wire.close()


@dataclass(frozen=True)
class AtRestSettings:
    """Where the keys of the data at rest live, and whether a shard whose audit chain does not
    verify is served anyway (the override, audited by the service)."""

    keys_dir: str
    accept_tampered: bool = False


@dataclass(frozen=True)
class DispatchSettings:
    """What case host 0 builds its dispatcher with (from Settings)."""

    offer_timeout: float
    bar_own_outlet: bool
    escalate_after: int
    review_grace: float


@ray.remote
class CaseHost(_Served):
    """One shard of cases; shard 0 also holds the dispatcher. One process fewer, and the
    messages between the dispatcher and that shard's cases (enqueue, offered, begin_review,
    finished: five a case, with one host) are calls instead of trips over the wire."""

    WIRE_CALLS = frozenset({"create", "journal"})
    WIRE_BATCHES: ClassVar[Mapping[str, frozenset[str]]] = {
        "deliver": CASE_MESSAGES, "dispatch": DISPATCHER_MESSAGES}

    def __init__(self, instance: str, shard: int, case_shards: int, data_dir: str,
                 expire_after: float, dispatch: DispatchSettings, wire: WireSettings,
                 at_rest: AtRestSettings, must_exist: bool = False,
                 remade: bool = False, database_url: str | None = None) -> None:
        mask_logs()
        self.at_rest = at_rest
        self.database_url = database_url
        # a shared store (PostgreSQL) has no file to miss
        self.must_exist = database_url is None and (must_exist or _restarted())
        self.findings: list[str] = []  # of the audit chain, found on start
        self.refused = ""  # why this shard is not served
        self.expire_after = expire_after
        self.wire_settings = wire
        self.peers = Peers(instance, case_shards, wire.keys)
        self.path = Path(data_dir) / f"cases-{shard}.sqlite"
        self.shard_number = shard
        self.outbox = Outbox(wire.keys)
        for gateway_id, endpoint in registered_gateways(instance).items():
            self.outbox.attach(gateway_id, endpoint)
        self._shard = _Lazy(self._open)
        self.peers.local[actor_name(instance, "cases", shard)] = self
        self.dispatcher: Dispatcher | None = None
        if shard == 0:
            self.dispatcher = Dispatcher(
                _CaseLink(self.peers), self._push, dispatch.offer_timeout,
                dispatch.bar_own_outlet, dispatch.escalate_after, dispatch.review_grace)
            self.peers.local[actor_name(instance, DISPATCHER)] = self.dispatcher
            if _restarted() or remade:  # by Ray, or made again by the service
                # The queue lived in memory only: ask every case host for its waiting cases
                # (this one too: that also recovers its own cases before a channel asks).
                for other in range(case_shards):
                    self.peers.get("cases", other).resync.remote()
        settle_heap()

    async def _open(self) -> CaseShard:
        if self.refused:
            raise Tampered(self.refused)
        try:
            layout.require(self.path, self.must_exist)
        except MissingStore as e:
            self.refused = str(e)
            log.error("%s", self.refused)
            raise
        keys = AtRest.load(Path(self.at_rest.keys_dir))
        store = CaseStore(self.path, keys, backend.opener(self.database_url))
        await store.open()
        # The chain's tail and every open case's current-state row are checked before the
        # shard serves (recover reads them through the chain): a forged row is never served.
        # The tail is read where the store keeps it: the SQLite file, or the shard's schema.
        try:
            self.findings = [str(f) for f in await chain_verify.verify_shard(
                self.path, keys.chain_key, self.database_url, tail=chain_verify.TAIL)]
        except BaseException:
            await store.close()
            raise
        shard = CaseShard(store, _DispatchLink(self.peers), self._publish, self.expire_after,
                          self._push, self.shard_number)
        count = await shard.recover() if not self.findings else 0
        self.findings += store.tampered
        where = store.db.label  # cases-0.sqlite, or schema cases_0
        if self.findings and not self.at_rest.accept_tampered:
            await store.close()
            verify = "foureyes audit verify" + (" --database-url URL" if self.database_url else "")
            self.refused = (f"{where} is not served: its audit chain does not verify: "
                            f"{self.findings[0]} (run `{verify}`; "
                            f"--accept-tampered serves it anyway, audited)")
            log.error("%s", self.refused)
            raise Tampered(self.refused)
        if self.findings:
            log.warning("%s served although its audit chain does not verify "
                        "(--accept-tampered): %s", where, "; ".join(self.findings))
            if not count:
                count = await shard.recover()
        log.info("case host %s: %d open cases recovered", self.path.name, count)
        return shard

    async def _get(self) -> CaseShard:
        if self.refused:
            raise Tampered(self.refused)
        return await self._shard.get()

    async def integrity(self) -> list[str]:
        """What the start-up check of the audit chain found (served under the override, or
        the reason the shard is refused)."""
        with contextlib.suppress(Tampered):
            await self._get()
        return [self.refused] if self.refused else list(self.findings)

    def _publish(self, update: dict[str, Any], event: dict[str, Any]) -> None:
        self.outbox.send_case(update, feed_view(event))  # the feed leaves the bank's systems

    def _push(self, gateway_id: str, seat_id: str, message: dict[str, Any]) -> None:
        """To the seat's gateway; to every gateway when that is not known ("")."""
        self.outbox.send(f"seat/{seat_id}", message, gateway_id or None)

    def _desk(self) -> Dispatcher:
        if self.dispatcher is None:
            raise FoureyesError(f"{self.path.stem} does not hold the dispatcher")
        return self.dispatcher

    async def deliver(self, batch: list[Message]) -> list[Any]:
        return await deliver(self, batch)

    async def dispatch(self, batch: list[Message]) -> list[Any]:
        """Messages for the dispatcher."""
        return await deliver(self._desk(), batch)

    async def ready(self) -> int:
        return len((await self._get()).cases)

    def attach_gateway(self, gateway_id: str, endpoint: str,
                       seats: list[dict[str, Any]] | None = None) -> None:
        """Also a heartbeat. `seats`, for the dispatcher: the seats that gateway holds, which
        a restarted dispatcher learns again from it."""
        self.outbox.attach(gateway_id, endpoint)
        for seat in seats or []:
            if seat["seat_id"] not in self._desk().seats:
                self._desk().login(**seat, gateway_id=gateway_id, stream_kept=True)

    def dispatch_stats(self) -> dict[str, Any]:
        return self._desk().stats()

    def detach_gateway(self, gateway_id: str) -> None:
        self.outbox.detach(gateway_id)

    async def create(self, specs: list[CaseSpec]) -> list[dict[str, Any] | Exception]:
        return await (await self._get()).create(specs)

    async def get(self, case_id: str, system: str) -> dict[str, Any]:
        return await (await self._get()).get(case_id, system)

    async def offered(self, case_id: str, seat_id: str, gateway_id: str,
                      expires_in_ms: int) -> None:
        await (await self._get()).offered(case_id, seat_id, gateway_id, expires_in_ms)

    async def offer_lapsed(self, case_id: str, seat_id: str, why: str) -> None:
        await (await self._get()).offer_lapsed(case_id, seat_id, why)

    async def begin_review(self, case_id: str, seat_id: str, operator_id: str) -> dict[str, Any]:
        return await (await self._get()).begin_review(case_id, seat_id, operator_id)

    async def decide(self, case_id: str, seat_id: str, version: int, verdict: str,
                     reason_code: str, reason_text: str, missing: list[str]) -> dict[str, Any]:
        return await (await self._get()).decide(case_id, seat_id, version, verdict, reason_code,
                                                reason_text, missing)

    async def requeue(self, case_id: str, why: str) -> None:
        await (await self._get()).requeue(case_id, why)

    async def evidence_target(self, case_id: str, system: str) -> dict[str, Any]:
        return await (await self._get()).evidence_target(case_id, system)

    async def add_image(self, case_id: str, item: dict[str, Any], system: str,
                        verdict: dict[str, Any] | None = None) -> dict[str, Any]:
        return await (await self._get()).add_image(case_id, item, system, verdict)

    async def escalate(self, case_id: str, why: str) -> None:
        await (await self._get()).escalate(case_id, why)

    async def supplement(self, case_id: str, supplied: list[str], note: str, system: str
                         ) -> dict[str, Any]:
        return await (await self._get()).supplement(case_id, supplied, note, system)

    async def cancel(self, case_id: str, reason: str, system: str) -> dict[str, Any]:
        return await (await self._get()).cancel(case_id, reason, system)

    async def resync(self) -> None:
        await (await self._get()).resync()

    async def journal(self, after: int, kinds: list[str], limit: int
                      ) -> tuple[list[dict[str, Any]], int]:
        events, last = await (await self._get()).journal(after, kinds, min(limit, 5000))
        return [feed_view(e) for e in events], last  # masked, as the live feed

    async def events(self, case_id: str) -> list[dict[str, Any]]:
        return await (await self._get()).store.events(case_id)

    async def stats(self) -> dict[str, int]:
        return (await self._get()).stats()

    async def close(self) -> None:
        if self._shard.value is not None:
            self._shard.value.stop_deadlines()
            await self._shard.value.store.close()
        self.outbox.close()
        self._close_wire()


@ray.remote
class CustomerHost(_Served):
    WIRE_CALLS = frozenset({"observe"})

    def __init__(self, shard: int, data_dir: str, wire: WireSettings,
                 at_rest: AtRestSettings, must_exist: bool = False,
                 database_url: str | None = None) -> None:
        mask_logs()
        self.at_rest = at_rest
        self.database_url = database_url
        self.must_exist = database_url is None and (must_exist or _restarted())
        self.wire_settings = wire
        self.path = Path(data_dir) / f"customers-{shard}.sqlite"
        self._shard = _Lazy(self._open)
        settle_heap()

    async def _open(self) -> CustomerShard:
        layout.require(self.path, self.must_exist)
        store = CustomerStore(self.path, AtRest.load(Path(self.at_rest.keys_dir)),
                              backend.opener(self.database_url))
        await store.open()
        return CustomerShard(store)

    async def _get(self) -> CustomerShard:
        return await self._shard.get()

    async def deliver(self, batch: list[Message]) -> list[Any]:
        return await deliver(self, batch)

    async def ready(self) -> int:
        return len((await self._get()).customers)

    async def observe(self, batch: list[Observation]) -> list[dict[str, float]]:
        return await (await self._get()).observe(batch)

    async def stats(self) -> dict[str, int]:
        return (await self._get()).stats()

    async def close(self) -> None:
        if self._shard.value is not None:
            await self._shard.value.store.close()
        self._close_wire()


async def result(ref: Any) -> Any:
    """Await a Ray call; raise our own error, not Ray's wrapper, when the host refused."""
    try:
        return await ref
    except ray.exceptions.RayTaskError as e:
        if isinstance(e.cause, Exception):
            raise e.cause from None
        raise
    except ray.exceptions.ActorUnschedulableError:
        # its node is gone and it is pinned there (SQLite): served again when that node is back
        raise HostDown("a shard's node is gone; retry (it is served again when the node "
                       "holding its database is back)") from None
    except ray.exceptions.RayActorError as e:
        raise Unavailable(f"an actor host is restarting, retry: {e}") from None
