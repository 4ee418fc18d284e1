"""Assemble one foureyes service: Ray actor hosts, the gateway, gRPC and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import ipaddress
import logging
import uuid
from dataclasses import replace
from typing import Any

import grpc
import ray
from foureyes.actors.heap import settle_heap
from foureyes.actors.hosts import (
    HOST_OPTIONS,
    AtRestSettings,
    CaseHost,
    CustomerHost,
    DispatchSettings,
    WireSettings,
    place,
    register_service,
    running_services,
    unregister_service,
)
from foureyes.actors.shards import NAMESPACE, actor_name
from foureyes.channel_adapters.admin import AdminAdapter
from foureyes.channel_adapters.auth import AuthAdapter
from foureyes.channel_adapters.channels import MobileAdapter, SelfServiceAdapter, TellerAdapter
from foureyes.channel_adapters.errors import REFUSALS, ErrorInterceptor
from foureyes.channel_adapters.events import EventsAdapter
from foureyes.channel_adapters.images import ImageAdapter
from foureyes.channel_adapters.reflection import enable_reflection
from foureyes.channel_adapters.seat import SeatAdapter
from foureyes.channel_adapters.stats import StatsAdapter
from foureyes.console.app import Console
from foureyes.console.server import ConsoleServer
from foureyes.errors import FoureyesError, Tampered, Unavailable
from foureyes.gateway.gateway import Gateway
from foureyes.gateway.metrics import Metrics
from foureyes.gateway.rule_registry import RuleRegistry, share
from foureyes.masking import mask_logs
from foureyes.messaging.keys import WireKeys
from foureyes.protos import foureyes_pb2, foureyes_pb2_grpc
from foureyes.rules.book import DEFAULT_RULES, RuleBook
from foureyes.security import credentials
from foureyes.security.guard import Guard
from foureyes.service.settings import Settings
from foureyes.store import backend, layout
from foureyes.store.audit_log import AuditLog
from foureyes.store.sealing import AtRest
from foureyes.store.shared import Shared
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import start_http_server

log = logging.getLogger(__name__)
_REFUSED = {code.name for code in REFUSALS}


class InsecureBind(FoureyesError):
    """Listening beyond loopback with the development credentials."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = replace(settings, instance=settings.instance or uuid.uuid4().hex[:8],
                                data_dir=settings.data_dir.resolve())
        self.grpc_port = 0
        self.metrics_port = 0
        self._hosts: list[Any] = []
        self._by_name: dict[str, Any] = {}  # shard -> its host, made by this service
        self._shared: Shared | None = None  # with a shared store; the gateway closes it
        self.placed: dict[str, str] = {}  # shard database -> the disk it is pinned to
        self.integrity: dict[int, list[str]] = {}  # case shard -> what its chain check found
        self.refused: set[int] = set()
        self._own_ray = False
        self._server: grpc.aio.Server | None = None
        self._http: Any = None
        self._health: Any = None
        self.console: ConsoleServer | None = None
        # The cluster's key pair, new each start: the hosts get it from Ray with their other
        # constructor arguments, so it never travels over ZeroMQ.
        self.keys = WireKeys.generate()

    @property
    def grpc_address(self) -> str:
        return f"{self.settings.host}:{self.grpc_port}"

    @property
    def console_url(self) -> str:
        return self.console.url if self.console is not None else ""

    @property
    def metrics_url(self) -> str:
        return f"http://{self.settings.host}:{self.metrics_port}/metrics"

    async def start(self) -> None:
        """Everything up, or (on any failure) everything opened so far closed again: an
        aiosqlite connection left open keeps the process from ever exiting."""
        try:
            await self._start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.stop()
            raise

    async def _start(self) -> None:
        mask_logs()  # this process's log lines leave with personal numbers masked
        s = self.settings
        if not s.join:
            cases, customers = layout.resolve(s.data_dir, s.case_shards, s.customer_shards)
            s = self.settings = replace(s, case_shards=cases, customer_shards=customers)
        files = s.credential_files()
        if not _loopback(s.host) and not files.real:
            raise InsecureBind(
                f"refusing to listen on {s.host} with development credentials: give the bank's "
                "--tls-cert and --tls-key, --systems (channel systems and their token hashes) "
                "and --operators (the operator directory); see README, Credentials")
        self.credentials = credentials.load(s.data_dir, files)
        registry = RuleRegistry(s.data_dir)
        if s.database_url:  # the copies every gateway follows: read them first
            self._shared = await Shared.open(s.data_dir, backend.opener(s.database_url))
            if await self._shared.directory.follow(self.credentials.directory_path,
                                                   made_now=bool(self.credentials.new_passwords)):
                self.credentials.directory.refresh()
            await share(registry, self._shared.rules)
        book = self._initial_rules(registry)  # refuse to start on bad rules, before anything runs
        if self._shared is not None and registry.unshared:
            await share(registry, self._shared.rules)  # a first start's publish, for the others
        if not ray.is_initialized():
            # "local", not None: None joins whatever cluster this machine last ran (Ray's
            # /tmp/ray/ray_current_cluster), even a dead one, and hangs on it
            ray.init(address=s.ray_address or "local", namespace=NAMESPACE,
                     include_dashboard=False, logging_level=logging.WARNING,
                     configure_logging=False)
            self._own_ray = True
        self.at_rest = AtRest.load(s.keys_path())  # made on first start, outside the data dir
        if s.join:
            s = await self._join()
            refused: set[int] = set()
        else:
            refused = await self._start_hosts()
        self.metrics = Metrics()
        # each gateway keeps its own decision log, audit log and API counters (one writer
        # each, one chain each); a joined one's are named after its gateway too
        logs = f"{s.instance}-{uuid.uuid4().hex[:6]}" if s.join else s.instance
        audit = AuditLog(s.data_dir / f"audit-{logs}.sqlite", self.at_rest,
                         backend.opener(s.database_url))
        guard = Guard(self.credentials, audit.record)
        self.gateway = Gateway(s.gateway(), s.instance, registry, book, self.metrics, guard, audit,
                               self.keys, self.at_rest, logs, self._shared)
        await self.gateway.start()
        for shard, findings in self.integrity.items():
            for finding in findings:  # the override is audited, finding by finding
                audit.record("tampered-served" if s.accept_tampered else "tampered-refused",
                             f"cases-{shard}", "override" if s.accept_tampered else "refused",
                             finding)

        def failed(method: str, code: str, message: str) -> None:
            self.metrics.failures.labels(method, code).inc()
            if code in _REFUSED:
                audit.record("refused", method, code, message)

        self._server = server = grpc.aio.server(
            interceptors=[ErrorInterceptor(failed, self.gateway.stats.record_call)])
        foureyes_pb2_grpc.add_TellerChannelServicer_to_server(TellerAdapter(self.gateway), server)
        foureyes_pb2_grpc.add_SelfServiceChannelServicer_to_server(
            SelfServiceAdapter(self.gateway), server)
        foureyes_pb2_grpc.add_MobileChannelServicer_to_server(MobileAdapter(self.gateway), server)
        foureyes_pb2_grpc.add_SeatServiceServicer_to_server(SeatAdapter(self.gateway), server)
        foureyes_pb2_grpc.add_AdminServiceServicer_to_server(AdminAdapter(self.gateway), server)
        foureyes_pb2_grpc.add_AuthServiceServicer_to_server(AuthAdapter(guard), server)
        foureyes_pb2_grpc.add_StatsServiceServicer_to_server(StatsAdapter(self.gateway), server)
        foureyes_pb2_grpc.add_EventFeedServicer_to_server(EventsAdapter(self.gateway), server)
        foureyes_pb2_grpc.add_ImageServiceServicer_to_server(ImageAdapter(self.gateway), server)
        health_servicer = self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        services = [d.full_name for d in foureyes_pb2.DESCRIPTOR.services_by_name.values()]
        enable_reflection(server, [*services, health.SERVICE_NAME])
        tls = self.credentials.tls
        self.grpc_port = server.add_secure_port(
            f"{s.host}:{s.grpc_port}", grpc.ssl_server_credentials([tls.server_pair()]))
        await server.start()
        status = health_pb2.HealthCheckResponse
        for name in ("", *services):
            await health_servicer.set(name, status.NOT_SERVING if refused else status.SERVING)
        for name in self._by_name:  # one health name per shard (the supervisor keeps it)
            down = name.startswith("cases-") and int(name[6:]) in refused
            await health_servicer.set(f"foureyes.shard.{name}",
                                      status.NOT_SERVING if down else status.SERVING)
        self.refused = refused
        self._supervisor = asyncio.create_task(self._supervise())
        if not s.join:  # further gateways may join it now
            register_service(s.instance, s.case_shards, s.customer_shards)
        self._http, _ = start_http_server(s.metrics_port, addr=s.host,
                                          registry=self.metrics.registry)
        self.metrics_port = self._http.server_port
        # the console speaks TLS (and its cookie is Secure) wherever gRPC goes beyond loopback
        own = self.credentials.tls
        console_tls = None if _loopback(s.host) else (own.cert, own.key)
        self.console = ConsoleServer(Console(self.gateway, secure=console_tls is not None).app(),
                                     s.host, s.console_port, console_tls)
        await self.console.start()
        settle_heap()

    def _initial_rules(self, registry: RuleRegistry) -> RuleBook:
        """The version last made active here; on a first start, `--rules DIR` or the bundled
        rules. Once a data directory has an active version, `--rules DIR` only proposes DIR:
        whoever can restart the service must not be able to change the rules alone, so it
        waits for a rule approver as a PublishRules would."""
        rules = self.settings.rules
        if not registry.active_version:
            if self.settings.join:  # a gateway publishes nothing of its own at start
                raise Unavailable("--join: no active rule set to join with; run the gateway on "
                                  "the service's data directory, or with its --database-url")
            if rules is not None:
                return registry.publish_dir(rules, f"--rules {rules} at first start")
            return registry.publish_dir(DEFAULT_RULES, "bundled rules at first start")
        active = registry.load(registry.active_version)
        if rules is not None:
            proposal = registry.propose_dir(rules, f"--rules {rules} at start", _starter())
            if proposal is not None:
                log.warning("rules in %s are version %s, proposed (not active): the service "
                            "runs version %s until a rule approver other than %s runs "
                            "`foureyes rules approve %s`", rules, proposal.version,
                            active.version, proposal.proposed_by, proposal.version)
        return active

    async def _join(self) -> Settings:
        """A further gateway: the running service's instance, shards and wire keys, from its
        Ray; its hosts, dispatcher and supervision stay with the service that made them."""
        s = self.settings
        services = running_services()
        if s.join == "*":
            if len(services) != 1:
                raise Unavailable(f"--join: {len(services)} foureyes services run in this Ray "
                                  f"({', '.join(sorted(services)) or 'none'}); name one")
            instance = next(iter(services))
        elif s.join in services:
            instance = s.join
        else:
            raise Unavailable(f"--join {s.join}: no such service runs in this Ray (running: "
                              f"{', '.join(sorted(services)) or 'none'})")
        cases, customers = services[instance]
        s = self.settings = replace(s, instance=instance, case_shards=cases,
                                    customer_shards=customers)
        host: Any = ray.get_actor(actor_name(instance, "cases", 0))
        self.keys = await host.wire_keys.remote()
        log.info("joined service %s (%d case shards, %d customer shards)", instance, cases,
                 customers)
        return s

    async def _start_hosts(self) -> set[int]:
        """The case shards refused because their audit chain does not verify."""
        s = self.settings
        data = str(s.data_dir)
        # @ray.remote classes are untyped to mypy: reach their .options through Any
        hosts: Any = {"cases": CaseHost, "customers": CustomerHost}
        dispatch = DispatchSettings(s.offer_timeout, s.bar_own_outlet, s.escalate_after,
                                    s.review_grace)
        wire = WireSettings(self.keys, s.wire_host())
        at_rest = AtRestSettings(str(s.keys_path()), s.accept_tampered)
        names = [*(f"cases-{i}" for i in range(s.case_shards)),
                 *(f"customers-{i}" for i in range(s.customer_shards))]
        made = layout.made(s.data_dir)
        options = self._placement(names)

        def make(name: str, remade: bool = False) -> Any:
            role, shard = name.rsplit("-", 1)
            i = int(shard)
            # made again: placed afresh (its node is back under a new Ray node id)
            placed = self._placement([name]) if remade else options
            actor = hosts[role].options(name=actor_name(s.instance, role, i), **placed[name])
            if role == "cases":
                return actor.remote(s.instance, i, s.case_shards, data, s.case_expiry,
                                    dispatch, wire, at_rest, remade or name in made, remade,
                                    database_url=s.database_url)
            return actor.remote(i, data, wire, at_rest, remade or name in made,
                                database_url=s.database_url)

        self._make = make
        self._by_name = {name: make(name) for name in names}
        cases = [self._by_name[f"cases-{i}"] for i in range(s.case_shards)]
        customers = [self._by_name[f"customers-{i}"] for i in range(s.customer_shards)]
        self._hosts = [*cases, *customers]
        # case hosts recover open cases and hand them to the dispatcher (in case host 0); one
        # whose audit chain does not verify refuses (Tampered) and is not served
        readiness = await asyncio.gather(*(h.ready.remote() for h in self._hosts),
                                         return_exceptions=True)
        for i, r in enumerate(readiness):
            if isinstance(r, BaseException) and (i >= len(cases) or not isinstance(r, Tampered)):
                raise r  # a customer shard refused stops the start: every request needs one
        found = await asyncio.gather(*(h.integrity.remote() for h in cases))
        self.integrity = {i: f for i, f in enumerate(found) if f}
        refused = {i for i, r in enumerate(readiness[:len(cases)]) if isinstance(r, Tampered)}
        layout.record(s.data_dir, [n for n, r in zip(names, readiness, strict=True)
                                   if not isinstance(r, BaseException)], self.placed)
        for i in refused:
            log.error("NOT SERVING case shard %d: %s", i, self.integrity[i][0])
        return refused

    async def _supervise(self, period: float = 0.5) -> None:
        """Watch every host: health and metrics say which shards serve. Ray restarts a host
        that crashed (a new address: counted as a restart); a host pinned to a node that died
        is dead for Ray (it may not run elsewhere), so it is made again, under its name and
        from its own file, once that node is back."""
        status = health_pb2.HealthCheckResponse
        endpoints: dict[str, str] = {}
        serving = dict.fromkeys(self._by_name, True)
        while True:
            await asyncio.sleep(period)
            for name, handle in list(self._by_name.items()):
                try:
                    async with asyncio.timeout(5):
                        endpoint = await handle.endpoint.remote()
                    up = True
                except (TimeoutError, ray.exceptions.RayError):
                    up = False
                    if self._dead(name):
                        with contextlib.suppress(Unavailable):
                            self._by_name[name] = self._make(name, remade=True)
                            self.metrics.host_restarts.labels(name).inc()
                            log.warning("%s made again on its node", name)
                if up and endpoints.setdefault(name, endpoint) != endpoint:
                    endpoints[name] = endpoint
                    self.metrics.host_restarts.labels(name).inc()
                if up != serving[name]:
                    serving[name] = up
                    if not up:
                        self.metrics.shard_unavailable.labels(name).inc()
                    log.warning("shard %s %s", name, "serving again" if up else "NOT SERVING")
                    refused = name.startswith("cases-") and int(name[6:]) in self.refused
                    if self._health is not None:
                        await self._health.set(f"foureyes.shard.{name}", status.SERVING
                                               if up and not refused else status.NOT_SERVING)
                self.metrics.shard_serving.labels(name).set(1 if up else 0)

    def _dead(self, name: str) -> bool:
        """Whether Ray has given the host up (no live actor holds its name)."""
        role, shard = name.rsplit("-", 1)
        try:
            ray.get_actor(actor_name(self.settings.instance, role, int(shard)))
        except ValueError:
            return True
        return False

    def _placement(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """Ray options by shard. With SQLite on a cluster each shard's host is pinned (hard
        node affinity) to the node whose disk holds its file, recorded in layout.json at first
        start: Ray never restarts it elsewhere, where it would find no file. With a shared
        store (`database_url`) any node may host any shard: on a cluster each is placed on
        the live node holding the fewest, and one whose node died is made again at once on
        another (the supervisor). Affinity, not Ray's SPREAD or a soft affinity: Ray ignores
        both for actors that ask no resources (hosts ask no CPU), and packs them on one node."""
        s = self.settings
        if not s.ray_address:
            return {n: dict(HOST_OPTIONS) for n in names}
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        recorded = {} if s.database_url else layout.nodes(s.data_dir)
        options = {}
        for name, (node_id, disk) in place(names, recorded).items():
            if not s.database_url:
                self.placed[name] = disk
            options[name] = {**HOST_OPTIONS, "scheduling_strategy":
                             NodeAffinitySchedulingStrategy(node_id, soft=False)}
            log.info("%s placed on %s (Ray node %s)", name, disk, node_id)
        return options

    async def stop(self) -> None:
        """Drain (Gateway.drain: no new requests or offers, reviews in progress decided
        within the stop grace, every answer under way sent, streams ended UNAVAILABLE), let
        the unary calls in flight finish, then close the stores."""
        if not self.settings.join:
            unregister_service(self.settings.instance)
        if getattr(self, "_supervisor", None) is not None:
            self._supervisor.cancel()
        if self._health is not None:  # load balancers move new callers elsewhere at once
            await self._health.enter_graceful_shutdown()
        if getattr(self, "gateway", None) is not None:
            await self.gateway.drain(self.settings.stop_grace)
        if self.console is not None:  # after the drain: its seats' decisions are answered too
            await self.console.stop()
        if self._server is not None:
            await self._server.stop(grace=5)
        if getattr(self, "gateway", None) is not None:
            await self.gateway.close()
        elif self._shared is not None:  # the start failed before the gateway took it
            await self._shared.close()
        if self._http is not None:
            self._http.shutdown()
        self._hosts = list(self._by_name.values())
        await asyncio.gather(*(h.close.remote() for h in self._hosts), return_exceptions=True)
        for h in self._hosts:
            ray.kill(h)
        self._hosts = []
        if self._own_ray:
            ray.shutdown()


def _starter() -> str:
    """Who proposes a set given with `--rules` on a restart: the account that started it."""
    return f"serve --rules ({getpass.getuser()})"

