"""Load generators, run in a child process so that they do not share the server's core loop."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from foureyes.actors.heap import settle_heap
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.security.directory import Operator
from foureyes.service.seat_client import SeatClient

_keys = itertools.count()


@dataclass(frozen=True)
class Access:
    """What a load generator connects with: TLS trusting `ca`, the teller system's token, and
    the seats' passwords (none: a baseline server that checks nothing)."""

    ca: bytes
    token: str = ""
    passwords: dict[str, str] = field(default_factory=dict)

    def channel(self, address: str) -> grpc.aio.Channel:
        return grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(self.ca))

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def seat(self, channel: grpc.aio.Channel, seat_id: str, operator_id: str, session: str = ""
             ) -> SeatClient:
        """`session`: a token the operator has signed in for already (valid on every gateway of
        the data directory), else it signs in with its password on connecting."""
        password = self.passwords.get(operator_id, "")
        return SeatClient(channel, seat_id, operator_id, 2, ["cash"], password=password,
                          token=session or ("" if password else "unchecked"))


def enrol(service: Any, groups: tuple[tuple[str, int], ...]) -> dict[str, str]:
    """Seat operators `<prefix>-<i>` in the service's directory, as a bank would enrol them;
    returns their passwords."""
    passwords = {}
    for prefix, n in groups:
        for i in range(n):
            op = f"{prefix}-{i}"
            passwords[op] = f"pw-{op}"
            service.credentials.directory.add(
                Operator(op, level=2, skills=("cash",), roles=frozenset({"authorizer"})),
                passwords[op])
    return passwords


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    if not latencies:
        return {"n": 0, "per_s": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}
    q = statistics.quantiles(latencies, n=100)
    return {"n": len(latencies), "per_s": len(latencies) / seconds,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def request(amount: str, code: str = "TRANSFER") -> pb.TellerRequest:
    return pb.TellerRequest(operator_id="teller-bench", outlet_id="0101", transaction=pb.Transaction(
        code=code, amount=amount, currency="CNY", account="6222000011112222",
        customer_id=f"cust-{next(_keys) % 1000}", idempotency_key=f"bench-{time.time_ns()}-{next(_keys)}"))


async def closed_loop(address: str, method: str, concurrency: int, seconds: float,
                      access: Access | None) -> dict[str, float]:
    """`concurrency` callers in a loop for `seconds`; the echo and fast-path runs share it.
    `access` None: plaintext, no token."""
    metadata = access.metadata if access else ()
    channel_ = access.channel(address) if access else grpc.aio.insecure_channel(address)
    async with channel_ as channel:
        if method == "echo":
            call = channel.unary_unary("/bench.Echo/Echo")
            payload = request("100").SerializeToString()

            async def one() -> None:
                await call(payload, metadata=metadata)
        else:
            stub = pbg.TellerChannelStub(channel)

            async def one() -> None:
                d = await stub.Authorize(request("100"), metadata=metadata)
                assert d.outcome == pb.NOT_REQUIRED

        for _ in range(50):  # warm up
            await one()
        settle_heap()
        latencies: list[float] = []
        end = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < end:
                t = time.perf_counter()
                await one()
                latencies.append(time.perf_counter() - t)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return summary(latencies, time.perf_counter() - start)


def waits(sent: dict[str, float], offered: dict[str, float]) -> list[float]:
    """Request→first offer, for every case both sent and offered."""
    return [offered[c] - t for c, t in sent.items() if c in offered]


async def approving_seat(seat: SeatClient, offered: dict[str, float],
                         review: Callable[[], float] | None = None,
                         seen: Callable[[SeatClient, pb.SeatEvent], None] | None = None) -> None:
    """A simulated seat: accepts every offer, recording when each case was first offered (an
    offer may arrive before the channel's answer does), reviews for `review()` seconds (none:
    at once) and approves. `seen` hears every event after it was handled."""
    while True:
        event = await seat.next(3600)
        kind = event.WhichOneof("body")
        if kind == "offer":
            case_id = event.offer.case.case_id
            offered.setdefault(case_id, time.perf_counter())
            seat.accept(case_id)
        elif kind == "assigned":
            if review is not None:
                await asyncio.sleep(review())
            seat.decide(event.assigned.case.case_id, event.assigned.case.version, pb.APPROVE)
        if seen is not None:
            seen(seat, event)


async def case_path(address: str, rate: float, seconds: float, seats: int, access: Access
                    ) -> dict[str, Any]:
    """Cases at `rate`/s (0: as fast as possible, 64 in flight) with seats approving at once."""
    metadata = access.metadata
    async with access.channel(address) as channel:
        stub = pbg.TellerChannelStub(channel)
        sent: dict[str, float] = {}
        offered: dict[str, float] = {}
        decided: list[float] = []
        clients = [await access.seat(channel, f"bench-seat-{i}", f"bench-auth-{i}").connect()
                   for i in range(seats)]

        async def one_case() -> None:
            t = time.perf_counter()
            d = await stub.Authorize(request("60000", "CASH_WITHDRAWAL"), metadata=metadata)
            sent[d.case_id] = t
            async for update in stub.WatchCase(pb.WatchCaseRequest(case_id=d.case_id),
                                               metadata=metadata):
                if update.final:
                    decided.append(time.perf_counter() - t)

        tasks = [asyncio.create_task(approving_seat(s, offered)) for s in clients]
        for _ in range(5):  # warm up: first connections, caches, database pages
            await asyncio.gather(*(one_case() for _ in range(20)))
        sent.clear()
        offered.clear()
        decided.clear()
        settle_heap()  # a full collection here would stall the clock of every case in flight
        start = time.perf_counter()
        end = start + seconds
        inflight: set[asyncio.Task[None]] = set()
        n = 0
        while time.perf_counter() < end:
            if rate:
                n += 1
                await asyncio.sleep(max(start + n / rate - time.perf_counter(), 0))
            elif len(inflight) >= 64:
                await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            task = asyncio.create_task(one_case())
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        await asyncio.wait_for(asyncio.gather(*inflight), 60)
        elapsed = time.perf_counter() - start
        for t in tasks:
            t.cancel()
        for s in clients:
            await s.close()
        return {"offer": summary(waits(sent, offered), elapsed),
                "decided": summary(decided, elapsed)}


def run_in_child(kind: str, *args: Any) -> dict[str, Any]:
    fn = closed_loop if kind == "closed" else case_path
    return asyncio.run(fn(*args))  # type: ignore[operator]
