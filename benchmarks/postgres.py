"""The fast path and the case path on a service whose stores are PostgreSQL (--database-url),
against the same service on SQLite files, in the same run: `bash run.sh bench --only postgres`.
PostgreSQL is Debian's, started for the run on loopback (service/local_postgres.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from foureyes.benchmarks.load import Access
from foureyes.service import local_postgres as postgres_server
from foureyes.service.app import Service
from foureyes.service.settings import Settings

RATES = (("100 cases/s offered", 100.0), ("as fast as possible", 0.0))


async def compare(tmp: Path, seconds: float, concurrency: int, seats: int,
                  in_child: Callable[..., Awaitable[dict[str, Any]]],
                  operators: Callable[[Service], dict[str, str]],
                  row: Callable[..., str]) -> None:
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with postgres_server.running() as url:
        for name, database_url in (("SQLite", None), ("PostgreSQL", url)):
            service = Service(Settings(grpc_port=0, metrics_port=0, feed_port=0, console_port=0,
                                       data_dir=tmp / f"data-{name}", evidence_gate=False,
                                       database_url=database_url))
            await service.start()
            made = service.credentials
            access = Access(made.tls.ca_bytes(), made.new_tokens["teller"], operators(service))
            try:
                got = results[name] = {}
                got["fast"] = await in_child("closed", service.grpc_address, "fast",
                                             concurrency, seconds, access)
                for label, rate in RATES:
                    got[label] = await in_child("cases", service.grpc_address, rate, seconds,
                                                seats, access)
            finally:
                await service.stop()
    sqlite, pg = results["SQLite"], results["PostgreSQL"]
    print(f"(j) PostgreSQL store against SQLite files, {seconds:.0f} s each")
    print(f"fast path, {concurrency} concurrent callers (no store on the answer's path):")
    print(row("  SQLite (baseline)", sqlite["fast"]))
    print(row("  PostgreSQL", pg["fast"], sqlite["fast"]["per_s"]))
    for label, _ in RATES:
        print(f"case path, {seats} seats approving at once, {label}:")
        for what in ("offer", "decided"):
            print(row(f"  SQLite (baseline) → {what}", sqlite[label][what]))
            print(row(f"  PostgreSQL → {what}", pg[label][what],
                      sqlite[label][what]["per_s"]))
