"""(g) The event feed: Events replaying a large journal, and following live, against reading
the same rows straight from SQLite and against the rate the journal grows by.

`bash run.sh bench --only feed [--seconds N] [--events N]`. The subscriber runs in a child
process (spawned) over TLS with an auditor's session; the journal is made in this process
through CaseStore.save in large commits (the events of a case's whole life: created, offered,
review-started, approved).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from foureyes.actors.case import Case, CaseSpec, Verdict
from foureyes.security.directory import Operator
from foureyes.service.app import Service
from foureyes.service.settings import Settings
from foureyes.store.cases import CaseStore
from foureyes.store.sealing import AtRest

AUDITOR = "bench-auditor"


def _spec(n: int) -> CaseSpec:
    return CaseSpec(case_id=f"Cbench{n:09d}", fingerprint="f", channel="teller",
                    initiator="teller-1", outlet="OUT-SH-001", customer_id=f"cust-{n % 997}",
                    transaction_code="CASH_WITHDRAWAL", amount="60000", currency="CNY",
                    account_masked="************2222", mode="remote", level=1, approvers=1,
                    priority=0, sla_seconds=600, category="cash",
                    scene={"id": "cash-withdrawal", "name": "Large cash withdrawal",
                           "category": "cash"}, images=None, fired=[], rules_version="bench",
                    created_at=time.time())


async def make_journal(path: Path, events: int, keys: AtRest) -> float:
    """Returns the seconds it took. `keys`: the service's, or its start-up check of the audit
    chain refuses the shard."""
    store = CaseStore(path, keys)
    await store.open()
    started = time.perf_counter()
    changes: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for n in range(events // 4):
        case = Case(_spec(n))
        for step in (case.create, lambda c=case: c.offer("seat-1"),
                     lambda c=case: c.begin_review("seat-1", "auth-1"),
                     lambda c=case: c.decide("seat-1", c.version, Verdict.APPROVE)):
            event = step()
            changes.append((case.to_row(), event))
        if len(changes) >= 20_000:
            await store.save(changes)
            changes = []
    await store.save(changes)
    await store.close()
    return time.perf_counter() - started


def scan(path: Path) -> tuple[int, float]:
    """The baseline: the same rows, joined with their cases, straight from SQLite."""
    started = time.perf_counter()
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT e.rowid, e.case_id, e.version, e.at, e.kind, e.state, e.data, "
                          "c.doc FROM case_events e JOIN cases c ON c.case_id = e.case_id "
                          "ORDER BY e.rowid").fetchall()
    return len(rows), time.perf_counter() - started


async def _subscribe(address: str, ca: bytes, password: str, follow: bool, after: int
                     ) -> dict[str, Any]:
    """Replay: every event, timed from the first. Follow: from seq `after`, the live events,
    timed from the first to the last; ends 3 s after the last."""
    from foureyes.protos import foureyes_pb2 as pb
    from foureyes.protos import foureyes_pb2_grpc as pbg
    from foureyes.service.client import secure_channel, session, sign_in

    async with secure_channel(address, ca) as channel:
        token = await sign_in(channel, AUDITOR, password)
        call = pbg.EventFeedStub(channel).Events(
            pb.EventsRequest(after={0: after}, follow=follow), credentials=session(token))
        first = await call.read()
        started = last_at = time.perf_counter()
        n, last = 1, first.seq
        with contextlib.suppress(TimeoutError):
            while True:
                async with asyncio.timeout(3.0 if follow else None):
                    e = await call.read()
                if e is grpc_eof():
                    break
                n, last, last_at = n + 1, e.seq, time.perf_counter()
        call.cancel()
        return {"events": n, "seconds": max(last_at - started, 1e-9), "last": last}


def grpc_eof() -> Any:
    import grpc

    return grpc.aio.EOF


def subscribe_in_child(*args: Any) -> dict[str, Any]:
    return asyncio.run(_subscribe(*args))


async def live_load(service: Service, seconds: float) -> tuple[int, float]:
    """Cases created at the case host's pace for `seconds` (the channel's work skipped):
    returns the events committed and the time."""
    create = service.gateway._create[0]
    started = time.perf_counter()
    n = 10_000_000
    made = 0

    async def worker(w: int) -> None:
        nonlocal made
        i = 0
        while time.perf_counter() - started < seconds:
            await asyncio.gather(*(create.submit(_spec(n + w * 1_000_000 + i + k))
                                   for k in range(20)))
            i += 20
            made += 20

    await asyncio.gather(*(worker(w) for w in range(4)))
    return made, time.perf_counter() - started


async def table(seconds: float, events: int) -> str:
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"  # its keys directory, data.keys, goes inside tmp too
        data.mkdir()
        settings = Settings(grpc_port=0, metrics_port=0, feed_port=0, console_port=0,
                            data_dir=data, case_shards=1, case_expiry=0)
        made = await make_journal(data / "cases-0.sqlite", events, AtRest.load(settings.keys_path()))
        rows, scan_s = scan(data / "cases-0.sqlite")
        service = Service(settings)
        await service.start()
        try:
            service.credentials.directory.add(
                Operator(AUDITOR, roles=frozenset({"auditor"})), "pw-bench")
            ca = service.credentials.tls.ca_bytes()
            replay = await loop.run_in_executor(
                pool, subscribe_in_child, service.grpc_address, ca, "pw-bench", False, 0)
            # live: the subscriber waits at the journal's end, then follows what is committed
            follower = loop.run_in_executor(pool, subscribe_in_child, service.grpc_address, ca,
                                            "pw-bench", True, replay["last"])
            await asyncio.sleep(2.0)  # it signs in first
            committed, load_s = await live_load(service, seconds)
            live = await follower
        finally:
            await service.stop()
    pool.shutdown()
    lines = [
        f"(g) event feed: a journal of {rows} events ({rows // 4} cases; made in {made:.1f} s)",
        f"{'SQLite scan of the journal (baseline)':<44} {rows / scan_s:10.0f} events/s",
        f"{'Events replay (TLS, child process)':<44} {replay['events'] / replay['seconds']:10.0f}"
        f" events/s  {replay['events'] / replay['seconds'] / (rows / scan_s):5.0%} of the scan"
        f"  ({replay['events']} in {replay['seconds']:.1f} s)",
        f"{'journal growth, creations at the hosts pace':<44} {committed / load_s:10.0f} events/s"
        f"  ({committed} in {load_s:.1f} s)",
        f"{'Events live, the same window':<44} {live['events'] / live['seconds']:10.0f} events/s"
        f"  ({live['events']} received, last seq {live['last']} of {rows + committed})",
    ]
    return "\n".join(lines)
