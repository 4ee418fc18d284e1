"""Benchmarks, each against a baseline in the same run. `bash run.sh bench [--seconds N]`.

(a) fast path: decisions/s and latency for requests that need no authorization, in rounds
    interleaved with a plain grpc.aio echo server driven by the same load generator (--rounds,
    the median ratio);
(b) case path: cases/s and latency from request to seat offer and to the channel seeing the
    decision, with simulated seats approving at once, next to the same gRPC conversation with
    nothing behind it (benchmarks/bare.py);
(c) rules: evaluation time per request, bundled and 500 generated rules, next to raw
    durable_rules posting the same facts (benchmarks/rules.py);
(d) seats: 50 seats with random review times under a Poisson flow swept towards their
    capacity, next to an ideal M/M/50 queue; writes a PNG chart (benchmarks/seats.py);
(d2) seats2: the same center across two gateways (the second one `serve --join` in its own
    process), channels on the first, the seats half or all on the second, interleaved with
    the one-gateway run (the second stopped) as its baseline (`--rounds`; benchmarks/seats.py,
    gateways.py);
(e) dispatch: the dispatcher's own work per case with 1, 50 and 500 seats logged in, against
    the one-seat center (benchmarks/dispatch.py);
(f) stats: a generated year of cases; questions from the hourly roll-ups against a full scan
    of the same rows, and what the roll-up would cost a case commit (benchmarks/stats.py);
(g) feed: Events replaying a large journal and following live, against a SQLite scan of the
    same rows and the rate the journal grows by (benchmarks/feed.py).
(h) upload: image upload MB/s against write + fsync of the same bytes, and request → offer
    for cases with three 1 MB images at 20 cases/s against cases needing none
    (benchmarks/upload.py).
(i) console: 50 web-console seats beside 50 gRPC seats at 70 % load, request → offer for
    each kind (benchmarks/console_seats.py).
(j) postgres, only when asked (--only postgres): the fast and the case path with the stores in
    PostgreSQL against SQLite files (benchmarks/postgres.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import statistics
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from foureyes.benchmarks import (
    at_rest,
    auth,
    bare,
    console_seats,
    dispatch,
    feed,
    postgres,
    rules,
    seats,
    stats,
    upload,
)
from foureyes.benchmarks.gateways import JoinedGateway, cpu_seconds
from foureyes.benchmarks.load import Access, enrol, run_in_child
from foureyes.security.tls import ensure_dev_tls
from foureyes.service.app import Service
from foureyes.service.settings import Settings

SEATS = 50
SCENARIOS = ("rules", "dispatch", "at_rest", "fast", "cases", "seats", "seats2", "stats", "feed",
             "upload", "console", "postgres")
CASE_RATES = (("100 cases/s offered", 100.0), ("as fast as possible", 0.0))


async def in_child(pool: ProcessPoolExecutor, *args: Any) -> dict[str, Any]:
    return await asyncio.get_running_loop().run_in_executor(pool, run_in_child, *args)


async def closed_in_child(pool: ProcessPoolExecutor, *args: Any) -> dict[str, Any]:
    """A closed-loop run, with the CPU each side spent per request: the server (this process,
    all its threads) and the load generator (the pool's child). On two shared cores the ratio
    of throughputs hides which side grew; these say it."""
    child = await asyncio.get_running_loop().run_in_executor(pool, os.getpid)
    server, client = cpu_seconds(os.getpid()), cpu_seconds(child)
    r = await in_child(pool, "closed", *args)
    n = max(r["n"], 1)
    return {**r, "server_us": (cpu_seconds(os.getpid()) - server) / n * 1e6,
            "client_us": (cpu_seconds(child) - client) / n * 1e6}


async def echo_server(tls: tuple[bytes, bytes] | None) -> tuple[grpc.aio.Server, str]:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})])
    port = (server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([tls])) if tls
            else server.add_insecure_port("127.0.0.1:0"))
    await server.start()
    return server, f"127.0.0.1:{port}"


def seat_operators(service: Service) -> dict[str, str]:
    """The benchmark's seats in the service's operator directory, as a bank would enrol them."""
    return enrol(service, (("bench-auth", SEATS), ("center-auth", seats.SEATS)))


def row(label: str, s: dict[str, float], base: float | None = None) -> str:
    ratio = f"{s['per_s'] / base:7.0%}" if base else "       "
    cpu = (f"  CPU/request: server {s['server_us']:4.0f} µs, load generator {s['client_us']:4.0f} µs"
           if "server_us" in s else "")
    return (f"{label:<40} {s['per_s']:9.0f}/s {ratio} p50 {s['p50_ms']:7.2f} ms  "
            f"p99 {s['p99_ms']:7.2f} ms{cpu}")


async def across_gateways(service: Service, data_dir: Path, pool: ProcessPoolExecutor,
                          seconds: float, args: argparse.Namespace, access: Access) -> None:
    """(d2): a second gateway joins the service as its own process for the runs that use it."""
    joined = JoinedGateway(service.settings.instance, data_dir, service.settings.keys_path())
    loop = asyncio.get_running_loop()
    try:
        print(f"\n(d2) seats across two gateways (the second its own process, `serve --join`), "
              f"{len(seats.LOADS2)} rates, {seconds:.0f} s each, {args.rounds} rounds")
        runs = await seats.across_gateways(
            service.grpc_address, joined, seconds, args.review, access, args.rounds,
            lambda fn, *a: loop.run_in_executor(pool, fn, *a))
        print(seats.across_table(runs, args.review))
    finally:
        await asyncio.to_thread(joined.stop)


async def main(args: argparse.Namespace) -> None:
    seconds, concurrency = args.seconds, args.concurrency
    only = set(args.only or set(SCENARIOS) - {"postgres"})  # postgres needs a server: if asked
    if "rules" in only:
        print("(c) ", end="")
        rules.main()
        print()
    if "dispatch" in only:
        print(f"(e) {await dispatch.table()}\n")
    if "at_rest" in only:
        print(f"(g) {at_rest.table()}\n")
    if "stats" in only:
        await asyncio.to_thread(stats.main, args.days, args.per_day, None, args.stats_chart)
        print()
    if "feed" in only:
        print(await feed.table(args.seconds, args.events) + "\n")
    if "upload" in only:
        await upload.main(20, seconds)
        print()
    if not only & {"fast", "cases", "seats", "seats2", "console"}:  # none needs the shared service
        return
    # spawn, not fork: gRPC does not survive a fork of a process that has used it
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    with tempfile.TemporaryDirectory() as tmp:
        # the baselines serve TLS with the same key pair the service will use
        files = ensure_dev_tls(Path(tmp) / "credentials")
        tls, bare_access = files.server_pair(), Access(files.ca_bytes())
        if "postgres" in only:
            await postgres.compare(Path(tmp), seconds, concurrency, SEATS,
                                   lambda *a: in_child(pool, *a), seat_operators, row)
            print()
        if "fast" in only:
            print(f"(a) {auth.table()}\n")
            server, address = await echo_server(None)  # what TLS itself costs
            plain = await closed_in_child(pool, address, "echo", concurrency, seconds, None)
            await server.stop(0)
        if "cases" in only:
            server, address = await bare.serve(tls)
            baseline = [await in_child(pool, "cases", address, rate, seconds, SEATS, bare_access)
                        for _, rate in CASE_RATES]
            await server.stop(0)
        # the case path without images (the evidence benchmark, upload.py, has its own service)
        service = Service(Settings(grpc_port=0, metrics_port=0, feed_port=0, console_port=0,
                                   data_dir=Path(tmp), keys_dir=Path(tmp) / "keys",
                                   evidence_gate=False))  # the baselines' credentials; keys inside tmp
        await service.start()
        access = Access(files.ca_bytes(), service.credentials.new_tokens["teller"],
                        seat_operators(service))
        try:
            if "fast" in only:
                print(f"(a) fast path, {concurrency} concurrent callers, {seconds:.0f} s each, "
                      "TLS on both, foureyes authenticating the teller system's token; "
                      f"{args.rounds} rounds, the echo and foureyes interleaved (the service "
                      "idle during the echo's runs)")
                print(row("grpc.aio echo, plaintext", plain))
                ratios = []
                for n in range(1, args.rounds + 1):
                    server, address = await echo_server(tls)
                    echo = await closed_in_child(pool, address, "echo", concurrency, seconds,
                                                 bare_access)
                    await server.stop(0)
                    fast = await closed_in_child(pool, service.grpc_address, "fast",
                                                 concurrency, seconds, access)
                    print(row(f"{n}: grpc.aio echo over TLS (baseline)", echo))
                    print(row(f"{n}: foureyes NOT_REQUIRED decisions", fast, echo["per_s"]))
                    ratios.append(fast["per_s"] / echo["per_s"])
                print(f"foureyes against the echo, median of {len(ratios)} rounds: "
                      f"{statistics.median(ratios):.0%} (each: "
                      f"{', '.join(f'{r:.0%}' for r in ratios)})")
            if "cases" in only:
                print(f"\n(b) case path, {SEATS} seats approving at once, {seconds:.0f} s each")
                for (label, rate), b in zip(CASE_RATES, baseline, strict=True):
                    r = await in_child(pool, "cases", service.grpc_address, rate, seconds, SEATS,
                                       access)
                    print(f"{label}:")
                    print(row("  bare gRPC (baseline): → offer", b["offer"]))
                    print(row("  request → seat offer", r["offer"], b["offer"]["per_s"]))
                    print(row("  bare gRPC (baseline): → decision", b["decided"]))
                    print(row("  request → channel sees decision", r["decided"],
                              b["decided"]["per_s"]))
            if "seats" in only:
                print(f"\n(d) seats, a Poisson flow at {len(seats.LOADS)} rates, "
                      f"{seconds:.0f} s each")
                results = await asyncio.get_running_loop().run_in_executor(
                    pool, seats.sweep_in_child, service.grpc_address, seconds, args.review, access)
                print(seats.table(results, args.review))
                print(seats.chart(results, args.review, args.chart))
            if "seats2" in only:
                await across_gateways(service, Path(tmp), pool, seconds, args, access)
            if "console" in only:
                access.passwords.update(enrol(service, (("mixed-auth", console_seats.SEATS),
                                                        ("console-auth", console_seats.SEATS))))
                print(f"\n(g) console seats beside gRPC seats, {seconds:.0f} s")
                mixed = await asyncio.get_running_loop().run_in_executor(
                    pool, console_seats.run_in_child, service.grpc_address, service.console_url,
                    seconds, args.review, access)
                print(console_seats.table(mixed, args.review))
        finally:
            await service.stop()
    pool.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--concurrency", type=int, default=64, help="fast-path callers")
    parser.add_argument("--only", action="append", choices=SCENARIOS,
                        help="run only this scenario (repeatable; default: all)")
    parser.add_argument("--review", type=float, default=1.0,
                        help="seats: mean review time in seconds (capacity is 50 / review)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="fast: rounds of the echo and foureyes, interleaved; seats2: "
                             "rounds of the three plans, interleaved")
    parser.add_argument("--chart", type=Path, default=Path("benchmarks/results/seats.png"),
                        help="seats: where to write the PNG chart")
    parser.add_argument("--days", type=int, default=365, help="stats: days of history")
    parser.add_argument("--events", type=int, default=400_000,
                        help="feed: events in the journal Events replays")
    parser.add_argument("--per-day", type=int, default=5000, help="stats: cases a day")
    parser.add_argument("--stats-chart", type=Path, default=Path("benchmarks/results/stats.png"),
                        help="stats: where to write the last day's chart")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args))
