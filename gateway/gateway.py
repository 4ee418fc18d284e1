"""The gateway's work, free of protobuf: evaluate, create cases, watch them, serve seats.

Channel adapters turn their requests into a ChannelRequest and the answers back into
protobuf; everything here speaks domain types and plain dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from foureyes.actors.case import CaseSpec, Verdict
from foureyes.actors.customer import Observation
from foureyes.actors.hosts import Peers, node_address, register_gateway, unregister_gateway
from foureyes.actors.shards import shard_of
from foureyes.errors import InvalidRequest, NotFound, PermissionDenied, Unauthenticated, Unavailable
from foureyes.gateway.events import SHUTTING_DOWN, EventStreams
from foureyes.gateway.evidence import Evidence
from foureyes.gateway.metrics import Metrics
from foureyes.gateway.rule_registry import Activation, RuleRegistry, share
from foureyes.gateway.settings import GatewaySettings
from foureyes.gateway.stats import StatsKeeper
from foureyes.messaging.batching import Batcher
from foureyes.messaging.bus import Feed, Inbox
from foureyes.messaging.keys import WireKeys
from foureyes.rules.book import RuleBook
from foureyes.rules.model import Decision, Outcome
from foureyes.security.directory import Operator
from foureyes.security.guard import Guard
from foureyes.store import backend
from foureyes.store.audit_log import AuditLog
from foureyes.store.chain import CHECKPOINT_SECONDS, signed_heads
from foureyes.store.decisions import DecisionLog
from foureyes.store.sealing import AtRest
from foureyes.store.shared import Shared
from foureyes.store.stats import Report

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0
WATCH_POLL_SECONDS = 5.0  # a lost push delays a watcher by at most this much
TOLD = 20_000  # cases whose newest told state a gateway keeps
MAX_CAPACITY = 10  # cases one seat may hold at once


@dataclass(frozen=True)
class ChannelRequest:
    channel: str  # teller | self_service | mobile
    initiator: str
    outlet: str
    idempotency_key: str
    fingerprint: str
    facts: dict[str, Any]
    customer_id: str
    transaction_code: str
    amount: str
    currency: str
    account_masked: str
    system: str = ""  # the authenticated channel system that sent it


@dataclass(frozen=True)
class Answer:
    decision: Decision
    case_id: str = ""


@dataclass(frozen=True)
class SeatLogin:
    seat_id: str
    operator_id: str
    level: int
    skills: tuple[str, ...]
    capacity: int = 1
    outlet: str = ""  # where the authorizer sits, for the own-outlet bar
    scope: tuple[str, ...] = ()  # organisation units served; empty: all
    supervisor: bool = False

    def validate(self) -> None:
        if not self.seat_id or not self.operator_id:
            raise InvalidRequest("login needs a seat_id and an operator_id")
        if self.level < 1 and not self.supervisor:
            raise InvalidRequest("login needs an authority_level of 1 or more")
        if not self.skills and not self.supervisor:
            raise InvalidRequest("login needs at least one skill (scene category)")
        if not 1 <= self.capacity <= MAX_CAPACITY:
            raise InvalidRequest(f"capacity must be from 1 to {MAX_CAPACITY}")

    def granted_by(self, op: Operator) -> SeatLogin:
        """The login as the directory allows it for `op`: what the client left empty is filled
        from the directory; anything it claims beyond the directory is refused."""
        if self.operator_id and self.operator_id != op.operator_id:
            raise PermissionDenied(f"the login names operator {self.operator_id!r}, the session "
                                   f"is {op.operator_id!r}")
        op.require("authorizer", "supervisor")
        if self.supervisor and "supervisor" not in op.roles:
            raise PermissionDenied(f"operator {op.operator_id} is not a supervisor")
        if self.level > op.level:
            raise PermissionDenied(f"the login claims authority level {self.level}; the "
                                   f"directory gives operator {op.operator_id} level {op.level}")
        granted = op.skills if "authorizer" in op.roles else ()
        beyond = set(self.skills) - set(granted)
        if beyond:
            raise PermissionDenied(f"operator {op.operator_id} does not have the skills "
                                   f"{sorted(beyond)}")
        if op.scope and not set(self.scope) <= set(op.scope):
            raise PermissionDenied(f"operator {op.operator_id} may serve only {list(op.scope)}")
        if self.outlet and self.outlet != op.outlet:
            raise PermissionDenied(f"operator {op.operator_id} sits at {op.outlet or 'no outlet'}")
        return SeatLogin(self.seat_id, op.operator_id, self.level or op.level,
                         self.skills or granted, self.capacity, op.outlet,
                         self.scope or op.scope, self.supervisor)


def _masked(facts: dict[str, Any], account_masked: str) -> dict[str, Any]:
    """The decision log keeps the facts the rules saw, the account number masked."""
    return {**facts, "transaction.account": account_masked} if "transaction.account" in facts else facts


def case_id_for(channel: str, idempotency_key: str) -> str:
    """The same request retried maps to the same case, on any gateway."""
    return "C" + hashlib.blake2b(f"{channel}\0{idempotency_key}".encode(), digest_size=10).hexdigest()


class Gateway:
    def __init__(self, settings: GatewaySettings, instance: str, registry: RuleRegistry, book: RuleBook,
                 metrics: Metrics, guard: Guard, audit: AuditLog, keys: WireKeys,
                 at_rest: AtRest | None = None, logs: str = "",
                 shared: Shared | None = None) -> None:
        """`keys`: the cluster's key pair, for the wire to the hosts and the inbox; `at_rest`:
        the keys of the data at rest (personal fields sealed, the audit chain signed); `logs`:
        what this gateway's own files are named after (default: the instance); `shared`: the
        rule registry and operator directory in the shared store (opened; closed here)."""
        self.shared = shared
        self.settings = settings
        self.instance = instance
        self.keys = keys
        self.registry = registry
        self.book = book
        self.metrics = metrics
        self.guard = guard
        self.audit = audit
        self.at_rest = at_rest
        opener = backend.opener(settings.database_url)
        logs = logs or instance
        self.decisions = DecisionLog(settings.data_dir / f"decisions-{logs}.sqlite", at_rest,
                                     opener)
        # the roll-up of requests by branch asks the rules active now for an outlet's units
        self.stats = StatsKeeper(settings.data_dir, logs, lambda o: self.book.units_of(o),
                                 settings.database_url)
        self.evidence = Evidence(settings.evidence, settings.data_dir, audit, lambda: self.book,
                                 opener=opener)
        self.gateway_id = f"gw-{uuid.uuid4().hex[:8]}"
        self.feed = Feed(settings.host, settings.feed_port)
        self.events = EventStreams(self._journal, settings.case_shards)
        self.inbox = Inbox(keys, settings.inbox_host or node_address(),
                           on_event=self._event)
        # the seats connected here: their login and the queue their stream reads
        self.seats: dict[str, tuple[SeatLogin, asyncio.Queue[dict[str, Any]]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # Stopping (drain): `draining` refuses new requests and seats and stops offers;
        # `closing` also refuses seat actions, once those in flight are answered.
        self.draining = False
        self.closing = False
        self._actions = 0  # seat actions being handled
        self._settled = asyncio.Event()  # set when a seat action or a review ends
        self.reviewing: dict[str, set[str]] = {}  # seat id -> cases it was assigned, undecided
        self._watchers: set[asyncio.Queue[dict[str, Any]]] = set()
        # case id -> the newest state told to anyone here (LRU): a watch never starts lower
        self._told: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def start(self) -> None:
        s = self.settings
        self.peers = Peers(self.instance, s.case_shards, self.keys)
        self.case_hosts = [self.peers.get("cases", i) for i in range(s.case_shards)]
        self._create = [Batcher(functools.partial(self.peers.link("cases", i).call, "create"))
                        for i in range(s.case_shards)]
        self._observe = [Batcher(functools.partial(self.peers.link("customers", i).call,
                                                   "observe"))
                         for i in range(s.customer_shards)]
        # a failure here is cleaned up by Service.start, which closes the gateway (each close
        # skips what never opened)
        await self.decisions.open()
        await self.audit.open()
        await self.stats.start()
        await self.evidence.start(self)
        self.inbox.start()
        register_gateway(self.instance, self.gateway_id, self.inbox.endpoint)
        await self._heartbeat()
        self._tasks.append(asyncio.create_task(self._heartbeats()))
        self._tasks.append(asyncio.create_task(self._checkpoints()))

    def checkpoint(self) -> dict[str, Any]:
        """The signed heads of this gateway's chains (decision log, audit log), put on the
        feed: another system keeps them, and `foureyes audit verify --checkpoint` compares."""
        chains = [c for c in (self.decisions.db.chain, self.audit.db.chain) if c is not None]
        heads = {c.name: (c.seq, c.head) for c in chains}
        cp = signed_heads(heads, chains[0].key) if chains else {}
        if cp:
            self.feed.publish_checkpoint(cp)
        return cp

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            self.checkpoint()

    async def _heartbeat(self) -> None:
        seats = [{"seat_id": s.seat_id, "operator_id": s.operator_id, "level": s.level,
                  "skills": list(s.skills), "capacity": s.capacity, "outlet": s.outlet,
                  "scope": list(s.scope), "supervisor": s.supervisor}
                 for s, _ in self.seats.values()]
        # case host 0 holds the dispatcher: it also hears which seats are connected here
        await asyncio.gather(*(h.attach_gateway.remote(self.gateway_id, self.inbox.endpoint,
                                                       seats if i == 0 else None)
                               for i, h in enumerate(self.case_hosts)))

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.share_rules()
                self._follow_active_rules()
                if self.shared is not None:
                    await self.shared.directory.follow(self.guard.credentials.directory_path)
                self._follow_directory()
                register_gateway(self.instance, self.gateway_id, self.inbox.endpoint)
                await self._heartbeat()
                stats = await asyncio.gather(*(h.stats.remote() for h in self.case_hosts))
                self.metrics.set_stats(list(stats),
                                       await self.case_hosts[0].dispatch_stats.remote())
                await self._count_drops()
            except Exception:  # a host restarting: the next beat re-attaches
                log.warning("heartbeat to actor hosts failed", exc_info=True)

    async def _count_drops(self) -> None:
        hosts = {f"cases-{i}": h for i, h in enumerate(self.case_hosts)}
        hosts.update({f"customers-{i}": self.peers.get("customers", i)
                      for i in range(self.settings.customer_shards)})
        counts = await asyncio.gather(*(h.dropped.remote() for h in hosts.values()))
        self.metrics.set_dropped({"inbox": self.inbox.dropped, **dict(zip(hosts, counts, strict=True))})

    def _event(self, topic: bytes, payload: bytes) -> None:
        """A case event a host pushed: on the ZeroMQ feed as it came, and to Events streams."""
        self.feed.publish(topic, payload)
        self.events.heard(payload)

    async def _journal(self, shard: int, after: int, kinds: list[str], limit: int
                       ) -> tuple[list[dict[str, Any]], int]:
        events, last = await self.peers.link("cases", shard).call("journal", after, kinds, limit)
        return list(events), int(last)

    async def drain(self, grace: float) -> None:
        """Stopping: take no new requests or seats and offer nothing more to the seats here;
        let the reviews in progress be decided within `grace` seconds; answer every seat
        action already under way; then end every stream with UNAVAILABLE "shutting down"."""
        self.draining = True
        for seat_id in list(self.seats):  # no new offers; what a seat holds stays with it
            with contextlib.suppress(Exception):
                await self.set_presence(seat_id, True)
        await self._settle(lambda: not self._actions and not any(self.reviewing.values()),
                           grace)
        self.closing = True
        await self._settle(lambda: not self._actions, grace)  # answers already under way
        closing = {"type": "closed", "code": "UNAVAILABLE", "message": SHUTTING_DOWN}
        for _, q in self.seats.values():
            q.put_nowait(closing)
        for q in self._watchers:
            q.put_nowait(closing)
        self.events.stop()

    async def _settle(self, done: Callable[[], bool], within: float) -> None:
        """Wait until `done()` (checked whenever a seat action or review ends), at most
        `within` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while not done():
                    self._settled.clear()
                    await self._settled.wait()

    @contextlib.contextmanager
    def seat_action(self) -> Iterator[None]:
        """Around each seat action: refused once the stop closes streams (its answer could not
        be sent any more), counted until answered before that."""
        if self.closing:
            raise Unavailable(SHUTTING_DOWN)
        self._actions += 1
        try:
            yield
        finally:
            self._actions -= 1
            self._settled.set()

    def seat_told(self, seat_id: str, event: dict[str, Any]) -> None:
        """What a seat's stream sent it: which cases it reviews (for the drain)."""
        kind = event["type"]
        self._settled.set()
        if kind == "assigned":
            self.reviewing.setdefault(seat_id, set()).add(event["case"]["case_id"])
        elif kind == "revoked":
            self.reviewing.get(seat_id, set()).discard(event["case_id"])
        elif kind == "decided":
            self.reviewing.get(seat_id, set()).discard(event["update"]["case_id"])
            self._tell(event["update"])

    def _refuse_when_draining(self) -> None:
        if self.draining:
            raise Unavailable(SHUTTING_DOWN)

    def _tell(self, update: dict[str, Any]) -> dict[str, Any]:
        """The newest of `update` and what was told of its case before; remembered."""
        case_id = update["case_id"]
        known = self._told.get(case_id)
        if known is not None and known["version"] >= update["version"]:
            self._told.move_to_end(case_id)
            return known
        self._told[case_id] = update
        self._told.move_to_end(case_id)
        if len(self._told) > TOLD:
            self._told.popitem(last=False)
        return update

    async def close(self) -> None:
        unregister_gateway(self.instance, self.gateway_id)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for seat_id in list(self.seats):
            await self.close_seat(seat_id)
        await self.inbox.close()
        await self.decisions.close()
        await self.audit.close()
        self.checkpoint()  # the heads as they are at shutdown
        self.feed.close()
        await self.stats.close()
        await self.evidence.close()
        if self.shared is not None:
            await self.shared.close()

    async def ask_case(self, case_id: str, message: str, *args: Any) -> Any:
        return await self.peers.case_host(case_id).ask(message, *args)

    async def ask_dispatcher(self, message: str, *args: Any) -> Any:
        return await self.peers.dispatcher().ask(message, *args)

    # ------------------------------------------------------------------ channels

    async def authorize(self, req: ChannelRequest) -> Answer:
        self._refuse_when_draining()
        started = time.perf_counter()
        if not req.idempotency_key:
            raise InvalidRequest("transaction.idempotency_key is required")
        book = self.book  # one version for the whole request, even if a publish lands meanwhile
        facts = book.coerce(req.facts)  # declared attributes from text to their types
        if req.customer_id and book.tracks_history:
            contributions = book.counter_contributions(facts)
            if contributions:
                shard = shard_of(req.customer_id, len(self._observe))
                totals = await self._observe[shard].submit(
                    Observation(req.customer_id, f"{req.channel}/{req.idempotency_key}",
                                contributions, book.windows))
                facts = {**facts, **{f"history.{c}": v for c, v in totals.items()}}
        decision = book.evaluate(facts)
        answer = Answer(decision)
        if decision.outcome in (Outcome.REMOTE, Outcome.ONSITE):
            answer = Answer(decision, await self._create_case(req, decision, book, facts))
        self.decisions.record(
            time.time(), req.channel, req.idempotency_key, decision.outcome.name.lower(),
            decision.scene.id if decision.scene else "", answer.case_id, decision.rules_version,
            [f.id for f in decision.fired], _masked(book.masked(facts), req.account_masked))
        outcome = "required" if answer.case_id else decision.outcome.name.lower()
        self.metrics.observe_request(req.channel, outcome, time.perf_counter() - started)
        return answer

    async def _create_case(self, req: ChannelRequest, d: Decision, book: RuleBook,
                           facts: dict[str, Any]) -> str:
        assert d.scene is not None
        gated = self.settings.evidence.gate and d.outcome is Outcome.REMOTE and d.images is not None
        case_id = case_id_for(req.channel, req.idempotency_key)
        spec = CaseSpec(
            case_id=case_id, fingerprint=req.fingerprint, channel=req.channel,
            initiator=req.initiator, outlet=req.outlet, customer_id=req.customer_id,
            transaction_code=req.transaction_code, amount=req.amount, currency=req.currency,
            account_masked=req.account_masked,
            mode="onsite" if d.outcome is Outcome.ONSITE else "remote",
            level=d.level, approvers=d.approvers, priority=d.priority,
            sla_seconds=d.sla_seconds, category=d.scene.category,
            scene={"id": d.scene.id, "name": d.scene.name, "category": d.scene.category,
                   "business_type": d.scene.business_type,
                   "review_points": list(d.review_points),
                   "reject_reasons": [{"code": c, "text": t} for c, t in d.scene.reject_reasons]},
            images=d.images.to_dict() if d.images else None,
            fired=[{"id": f.id, "reason": f.reason} for f in d.fired],
            rules_version=d.rules_version, created_at=time.time(),
            units=tuple(book.units_of(req.outlet) or ([req.outlet] if req.outlet else [])),
            system=req.system,
            evidence_gate=gated,
            facts=_masked(book.masked(facts), req.account_masked) if gated else None)
        shard = shard_of(case_id, len(self._create))
        await self._create[shard].submit(spec)
        return case_id

    async def case(self, case_id: str, system: str) -> dict[str, Any]:
        update: dict[str, Any] = await self.peers.case_host(case_id).ask("get", case_id, system)
        return self._tell(update)

    async def watch(self, case_id: str, system: str) -> AsyncIterator[dict[str, Any]]:
        """The case's current state, then each change, until it is final. Changes that pile up
        while the watcher is slower than the case come as one: the newest."""
        topic = f"case/{case_id}"
        self._refuse_when_draining()
        q = self.inbox.subscribe(topic)  # before reading, so no change falls in between
        self._watchers.add(q)
        try:
            # Asked of the host (its store), never the cache alone: after a host restart the
            # pushes in between may be lost. The newest pushed, or told here, is as good when
            # it is newer; a watcher is never told less than either.
            asked = await self.case(case_id, system)  # also: may this system watch it
            pushed = self.inbox.latest(topic)
            current = self._tell(pushed if pushed is not None and pushed["version"] > asked["version"]
                                 else asked)
            yield current
            while not current["final"]:
                try:
                    async with asyncio.timeout(WATCH_POLL_SECONDS):  # no task, unlike wait_for
                        update = await q.get()
                except TimeoutError:
                    update = await self.case(case_id, system)
                if update.get("type") == "closed":
                    raise Unavailable(SHUTTING_DOWN)
                while not q.empty():  # a watcher behind is sent only the newest state
                    newer = q.get_nowait()
                    if newer.get("type") == "closed":
                        raise Unavailable(SHUTTING_DOWN)
                    if newer["version"] > update["version"]:
                        update = newer
                if update["version"] > current["version"]:
                    current = self._tell(update)
                    yield current
        finally:
            self._watchers.discard(q)
            self.inbox.unsubscribe(topic, q)

    async def cancel(self, case_id: str, reason: str, system: str) -> dict[str, Any]:
        self._refuse_when_draining()
        update: dict[str, Any] = await self.peers.case_host(case_id).ask(
            "cancel", case_id, reason, system)
        return self._tell(update)

    async def supplement(self, case_id: str, supplied: list[str], note: str, system: str
                         ) -> dict[str, Any]:
        self._refuse_when_draining()
        update: dict[str, Any] = await self.peers.case_host(case_id).ask(
            "supplement", case_id, supplied, note, system)
        return self._tell(update)

    def feed_events(self, after: dict[int, int], kinds: list[str], follow: bool
                    ) -> AsyncIterator[dict[str, Any]]:
        """The event feed from a cursor (gateway/events.py)."""
        self._refuse_when_draining()
        return self.events.follow(after, kinds, follow)

    # ------------------------------------------------------------------ statistics

    async def statistics(self, since: float, until: float, by: str, group: str,
                         top: int) -> Report:
        await self.decisions.settle()  # what was decided a moment ago counts too
        return await self.stats.report(since, until, by, group, top)

    # ------------------------------------------------------------------ rules

    async def propose_rules(self, files: dict[str, str], comment: str, by: Operator
                            ) -> Activation:
        by.require("rule_author")
        await self.share_rules()
        proposal = self.registry.propose_files(files, comment, by.operator_id)
        await self.share_rules()  # another gateway's approver sees it at once
        self.audit.record("rules-proposed", by.operator_id, "ok", proposal.version)
        return proposal

    async def propose_rollback(self, version: str, comment: str, by: Operator) -> Activation:
        by.require("rule_author")
        await self.share_rules()
        proposal = self.registry.propose_rollback(version, comment, by.operator_id)
        await self.share_rules()
        self.audit.record("rollback-proposed", by.operator_id, "ok", proposal.version)
        return proposal

    async def approve_rules(self, version: str, by: Operator) -> Activation:
        by.require("rule_approver")
        await self.share_rules()  # the proposal may have been made through another gateway
        self.book = self.registry.approve(version, by.operator_id)
        await self.share_rules()
        self.audit.record("rules-approved", by.operator_id, "ok", version)
        return self.registry.history()[-1]

    async def share_rules(self) -> None:
        """With a shared store: this registry's writes into it, and its state from it."""
        if self.shared is not None:
            await share(self.registry, self.shared.rules)

    def _follow_directory(self) -> None:
        """The bank changed its operator directory: a seat whose operator was disabled, or no
        longer has what the seat logged in with, loses its stream now."""
        if not self.guard.credentials.directory.refresh():
            return
        directory = self.guard.credentials.directory
        for seat_id, (login, q) in list(self.seats.items()):
            try:
                login.granted_by(directory.active(login.operator_id))
            except (Unauthenticated, PermissionDenied) as e:
                log.warning("seat %s: operator %s lost access: %s", seat_id, login.operator_id, e)
                self.audit.record("seat-ended", login.operator_id, "revoked", str(e))
                q.put_nowait({"type": "error", "code": "PERMISSION_DENIED",
                              "message": f"the operator directory no longer allows this seat: {e}"})
                q.put_nowait({"type": "closed"})

    def _follow_active_rules(self) -> None:
        """Another gateway (on this data directory, or through the shared store) may have
        published: follow it."""
        active = self.registry.active_version
        if active and active != self.book.version:
            self.book = self.registry.load(active)
            log.info("rules: switched to version %s", active)

    # ------------------------------------------------------------------ seats

    async def open_seat(self, claimed: SeatLogin, operator: Operator) -> tuple[
            SeatLogin, asyncio.Queue[dict[str, Any]]]:
        """The same operator connecting again while their old stream still looks alive (a
        half-open connection, a restarted front end) takes over: the old stream is ended.
        Another operator may not take a live seat."""
        self._refuse_when_draining()
        login = claimed.granted_by(operator)
        login.validate()
        old = self.seats.get(login.seat_id)
        if old is not None and old[0].operator_id != login.operator_id:
            raise PermissionDenied(f"seat {login.seat_id} is in use by another operator")
        if old is not None:
            old[1].put_nowait({"type": "error", "code": "ABORTED",
                               "message": "this seat connected again on another stream"})
            old[1].put_nowait({"type": "closed"})
        q = self.inbox.subscribe(f"seat/{login.seat_id}")
        self.seats[login.seat_id] = (login, q)
        try:
            await self.peers.dispatcher().ask(
                "login", login.seat_id, login.operator_id, login.level, list(login.skills),
                self.gateway_id, login.capacity, login.outlet, list(login.scope),
                login.supervisor)
        except BaseException:
            await self.close_seat(login.seat_id, q, logout=False)
            raise
        self.audit.record("seat-login", login.operator_id, "ok", login.seat_id)
        return login, q

    async def close_seat(self, seat_id: str, q: asyncio.Queue[dict[str, Any]] | None = None,
                         logout: bool = True) -> None:
        session = self.seats.get(seat_id)
        if q is not None:
            self.inbox.unsubscribe(f"seat/{seat_id}", q)
        if session is None or (q is not None and session[1] is not q):
            return  # closed already, or an old session of a seat that has connected again
        del self.seats[seat_id]
        self.reviewing.pop(seat_id, None)
        self._settled.set()
        if not logout:
            return
        with contextlib.suppress(Exception):  # the dispatcher may be gone at shutdown
            await self.peers.dispatcher().ask("logout", seat_id, self.gateway_id)

    async def accept(self, seat_id: str, case_id: str) -> dict[str, Any]:
        details: dict[str, Any] = await self.peers.dispatcher().ask("accept", seat_id, case_id)
        return details

    async def set_presence(self, seat_id: str, away: bool) -> None:
        await self.peers.dispatcher().ask("set_presence", seat_id, away)

    async def decline(self, seat_id: str, case_id: str) -> None:
        await self.peers.dispatcher().ask("decline", seat_id, case_id)

    async def reassign(self, supervisor_id: str, case_id: str, seat_id: str) -> dict[str, str]:
        moved: dict[str, str] = await self.peers.dispatcher().ask(
            "reassign", supervisor_id, case_id, seat_id)
        return moved

    async def take_back(self, supervisor_id: str, case_id: str) -> dict[str, str]:
        moved: dict[str, str] = await self.peers.dispatcher().ask("take_back", supervisor_id,
                                                                  case_id)
        return moved

    async def board(self, supervisor_id: str) -> dict[str, Any]:
        board: dict[str, Any] = await self.peers.dispatcher().ask("board", supervisor_id)
        return board

    async def history(self, seat_id: str, case_id: str) -> list[dict[str, Any]]:
        """The case's events, for a seat connected here that has been offered the case (or a
        supervisor's): what happened before, e.g. the first approver's decision."""
        session = self.seats.get(seat_id)
        if session is None:
            raise PermissionDenied(f"seat {seat_id} is not connected")
        host = self.case_hosts[shard_of(case_id, len(self.case_hosts))]
        events: list[dict[str, Any]] = await host.events.remote(case_id)
        if not events:
            raise NotFound(f"no case {case_id}")
        if not session[0].supervisor and not any(
                e["data"].get("seat_id") == seat_id for e in events):
            raise PermissionDenied(f"seat {seat_id} has not been offered case {case_id}")
        return events

    async def decide(self, seat_id: str, case_id: str, version: int, verdict: Verdict,
                     reason_code: str, reason_text: str, missing: list[str]) -> dict[str, Any]:
        update: dict[str, Any] = await self.peers.case_host(case_id).ask(
            "decide", case_id, seat_id, version, verdict.value, reason_code, reason_text, missing)
        self.metrics.decisions.labels(verdict.value.lower()).inc()
        return update
