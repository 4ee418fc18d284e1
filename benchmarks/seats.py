"""(d) The authorization center under a steady flow: 50 simulated seats, each taking a random
review time (exponential, mean `--review` s), and cases arriving at random (Poisson) at a rate
swept towards the seats' capacity (50 / review cases/s).

For each rate: request→offer p50/p99 (the wait for a seat), offers/s, and the spread of tasks
per seat (fairness). The baseline, in the same table, is queueing theory: the mean wait of an
ideal M/M/50 center (Erlang C) at the same load, so what the dispatcher adds is the gap.
Writes a PNG chart of wait against load (`--chart`, needs matplotlib: `bash run.sh bench`
installs it).

    bash run.sh bench --only seats [--seconds 8] [--review 1.0] [--chart FILE]

(d2) `--only seats2`: the same center across two gateways, the second `serve --join` in its own
process (benchmarks/gateways.py); channels on the first, the seats half or all on the second,
against the one-gateway run (the second stopped) on the same arrivals, interleaved over
`--rounds`; adds the waits by the gateway of the offered seat and each gateway's CPU per case.

    bash run.sh bench --only seats2 [--seconds 4] [--rounds 3]
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from foureyes.benchmarks.gateways import JoinedGateway, cpu_seconds
from foureyes.benchmarks.load import Access, approving_seat, request, summary, waits
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.client import sign_in
from foureyes.service.seat_client import SeatClient

SEATS = 50
LOADS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)  # arrival rate as a share of the seats' capacity


def erlang_c_wait(seats: int, arrival: float, review: float) -> float:
    """Mean wait in an M/M/c queue (seconds); inf when the load reaches capacity."""
    offered = arrival * review  # in erlangs
    if offered >= seats:
        return math.inf
    term, total = 1.0, 1.0
    for k in range(1, seats):
        term *= offered / k
        total += term
    last = term * offered / seats * seats / (seats - offered)
    return last / (total + last) * review / (seats - offered)


def jain(counts: list[int]) -> float:
    """Jain's fairness index: 1.0 when every seat got the same number of tasks."""
    return sum(counts) ** 2 / (len(counts) * sum(c * c for c in counts)) if any(counts) else 1.0


async def sweep(address: str, seconds: float, review: float, access: Access, seed: int = 7,
                loads: tuple[float, ...] = LOADS, seat_addresses: tuple[str, ...] = (),
                tokens: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Channels call `address`; seat i connects to seat_addresses[i % len] (none: `address`),
    with a session from `tokens` if given (else it signs in)."""
    rng = random.Random(seed)
    capacity = SEATS / review
    metadata = access.metadata
    async with contextlib.AsyncExitStack() as stack:
        channel = await stack.enter_async_context(access.channel(address))
        gateways = [channel if a == address else await stack.enter_async_context(
            access.channel(a)) for a in seat_addresses or (address,)]
        stub = pbg.TellerChannelStub(channel)
        sent: dict[str, float] = {}
        offered: dict[str, float] = {}
        first_seat: dict[str, str] = {}  # case → the seat it was first offered to
        tasks: Counter[str] = Counter()
        created: set[str] = set()
        finished: set[str] = set()  # may be told before the channel's answer arrives
        settled = asyncio.Event()  # every case created so far is decided
        seats = [await access.seat(gateways[i % len(gateways)], f"center-{i}",
                                   f"center-auth-{i}",
                                   (tokens or {}).get(f"center-auth-{i}", "")).connect()
                 for i in range(SEATS)]
        gateway_of = {f"center-{i}": i % len(gateways) for i in range(SEATS)}

        def seen(seat: SeatClient, event: pb.SeatEvent) -> None:
            kind = event.WhichOneof("body")
            if kind == "offer":
                first_seat.setdefault(event.offer.case.case_id, seat.login.seat_id)
            elif kind == "assigned":
                tasks[seat.login.seat_id] += 1
            elif kind == "decided":
                finished.add(event.decided.case_id)
                if created <= finished:
                    settled.set()

        async def one() -> None:
            t = time.perf_counter()
            d = await stub.Authorize(request("60000", "CASH_WITHDRAWAL"), metadata=metadata)
            sent[d.case_id] = t
            created.add(d.case_id)

        workers = [asyncio.create_task(approving_seat(
            s, offered, lambda: rng.expovariate(1 / review), seen)) for s in seats]
        results = []
        for load in loads:
            rate = load * capacity
            sent.clear()
            tasks.clear()
            start = time.perf_counter()
            due = start
            calls = []
            while (due := due + rng.expovariate(rate)) < start + seconds:
                await asyncio.sleep(max(due - time.perf_counter(), 0))
                calls.append(asyncio.create_task(one()))
            await asyncio.gather(*calls)
            elapsed = time.perf_counter() - start
            settled.clear()
            if created <= finished:
                settled.set()
            await asyncio.wait_for(settled.wait(), 120)  # drained before the next rate
            rate_waits = waits(sent, offered)  # every case of this rate has been offered now
            by_gateway: list[list[float]] = [[] for _ in gateways]
            for c, t in sent.items():
                if c in offered:
                    by_gateway[gateway_of[first_seat[c]]].append(offered[c] - t)
            counts = [tasks.get(s.login.seat_id, 0) for s in seats]
            results.append({
                "load": load, "arrival": len(calls) / elapsed, "wait": summary(rate_waits, elapsed),
                "theory_ms": erlang_c_wait(SEATS, rate, review) * 1000,
                "mean_ms": statistics.fmean(rate_waits) * 1000 if rate_waits else 0.0,
                "min_tasks": min(counts), "max_tasks": max(counts), "jain": jain(counts),
                # the same waits by the gateway of the seat the case was first offered to
                "by_gateway": [summary(w, elapsed) for w in by_gateway],
                "waits": rate_waits, "waits_by_gateway": by_gateway})
            print(f"  load {load:.0%}: done", flush=True)
        for w in workers:
            w.cancel()
        for s in seats:
            await s.close()
        return results


def sweep_in_child(address: str, seconds: float, review: float, access: Access
                   ) -> list[dict[str, Any]]:
    return asyncio.run(sweep(address, seconds, review, access))


# (d2) across two gateways: where the seats connect, the channels always on gateway 1
PLANS = ("one gateway (baseline)", "seats half on gateway 2", "seats all on gateway 2")
LOADS2 = (0.5, 0.8, 0.95)


async def _sessions(address: str, access: Access) -> dict[str, str]:
    async with access.channel(address) as channel:
        return {op: await sign_in(channel, op, pw) for op, pw in access.passwords.items()
                if op.startswith("center-auth-")}


def sessions_in_child(address: str, access: Access) -> dict[str, str]:
    """One sign-in per seat operator for every run: a session holds on every gateway."""
    return asyncio.run(_sessions(address, access))


def plan_in_child(first: str, seat_addresses: tuple[str, ...], seconds: float, review: float,
                  access: Access, seed: int, loads: tuple[float, ...], tokens: dict[str, str]
                  ) -> list[dict[str, Any]]:
    return asyncio.run(sweep(first, seconds, review, access, seed, loads, seat_addresses,
                             tokens))


async def across_gateways(first: str, second: JoinedGateway, seconds: float, review: float,
                          access: Access, rounds: int,
                          in_child: Callable[..., Awaitable[Any]]) -> list[dict[str, Any]]:
    """Each plan once a round on the same arrivals (one seed a round), in the order ABC CBA
    ...: a drifting machine weighs on each alike. The baseline runs with the second gateway
    stopped (a service of one gateway); it is started for the others. `first`: gateway 1 (this
    process); `in_child(fn, *args)` runs a load generator in the load process."""
    tokens = await in_child(sessions_in_child, first, access)
    runs: list[dict[str, Any]] = []
    idle: dict[str, float] = {}

    async def cpu_per_s(pid: int, name: str) -> None:  # what a gateway spends doing nothing
        before, t = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(3)
        idle[name] = (cpu_seconds(pid) - before) / (time.perf_counter() - t)

    async def sweep_of(plan: str, r: int, loads: tuple[float, ...] = LOADS2,
                       length: float = seconds) -> None:
        up = second.running
        if up != (plan != PLANS[0]):
            if up:
                await asyncio.to_thread(second.stop)
            else:
                await asyncio.to_thread(second.start)
                if "gw 2" not in idle:
                    await cpu_per_s(second.pid, "gw 2")
                await sweep_of(PLANS[2], -1, (0.5,), min(seconds, 2.0))  # warm the new one up
        addresses = {PLANS[0]: (first,), PLANS[1]: (first, second.address),
                     PLANS[2]: (second.address,)}[plan]
        pids = (os.getpid(), second.pid if second.running else 0)
        before = [cpu_seconds(p) if p else 0.0 for p in pids]
        if r >= 0:
            print(f"  round {r + 1}, {plan}", flush=True)
        results = await in_child(plan_in_child, first, addresses, length, review, access,
                                 7 + max(r, 0), loads, tokens)
        cpu = [cpu_seconds(p) - b if p else 0.0 for p, b in zip(pids, before, strict=True)]
        if r >= 0:  # not a warm-up
            runs.append({"round": r + 1, "plan": plan, "results": results, "cpu_s": cpu,
                         "cases": sum(x["wait"]["n"] for x in results), "idle_cpu": idle})

    await cpu_per_s(os.getpid(), "gw 1")
    await sweep_of(PLANS[0], -1, (0.5,), min(seconds, 2.0))  # warm up: connections, caches
    for r in range(rounds):
        for plan in PLANS if r % 2 == 0 else PLANS[::-1]:
            await sweep_of(plan, r)
    return runs


def across_table(runs: list[dict[str, Any]], review: float) -> str:
    base = {(run["round"], x["load"]): x["wait"] for run in runs if run["plan"] == PLANS[0]
            for x in run["results"]}
    lines = [f"{SEATS} seats, review time exponential with mean {review:g} s (capacity "
             f"{SEATS / review:.0f} cases/s); channels call gateway 1; ×base: against the "
             "one-gateway run of the same round and load",
             f"{'':2}{'plan':<24} {'load':>4} {'offers/s':>8} {'wait p50':>8} {'p99':>7} "
             f"{'mean':>7} {'M/M/50':>7} {'p50 ×base':>9} {'p99 ×base':>9} {'tasks/seat':>10} "
             f"{'Jain':>5}  seats on gw 1 / gw 2: p50, p99"]

    def ms(v: float) -> str:
        return f"{v:4.0f} ms"

    for run in runs:
        for x in run["results"]:
            w, b = x["wait"], base[(run["round"], x["load"])]
            ratio = "" if run["plan"] == PLANS[0] else (
                f"{w['p50_ms'] / max(b['p50_ms'], 1e-9):8.2f}x {w['p99_ms'] / max(b['p99_ms'], 1e-9):8.2f}x")
            split = " / ".join(f"{g['p50_ms']:.0f}, {g['p99_ms']:.0f} ms"
                               for g in x["by_gateway"]) if len(x["by_gateway"]) > 1 else ""
            lines.append(
                f"{run['round']:<2}{run['plan']:<24} {x['load']:>4.0%} {w['per_s']:>8.1f} "
                f"{ms(w['p50_ms']):>8} {ms(w['p99_ms']):>7} {ms(x['mean_ms']):>7} "
                f"{ms(x['theory_ms']):>7} {ratio:>19} {x['min_tasks']:>4}–{x['max_tasks']:<5} "
                f"{x['jain']:>5.3f}  {split}")
        gw1, gw2 = (1000 * c / max(run["cases"], 1) for c in run["cpu_s"])
        lines.append(f"{'':26}gateway CPU per case: gw 1 {gw1:.2f} ms + gw 2 {gw2:.2f} ms = "
                     f"{gw1 + gw2:.2f} ms ({run['cases']} cases)")
    idle = runs[0]["idle_cpu"]
    lines.append(f"idle (no load): gw 1 {idle['gw 1'] * 1000:.1f} ms CPU/s, gw 2 "
                 f"{idle.get('gw 2', math.nan) * 1000:.1f} ms CPU/s; the baseline runs with gw 2 "
                 "stopped")
    lines.append("all rounds pooled: p50 / p99 (×base), gateway CPU per case; plan 2 also by "
                 "the gateway of the offered seat")

    def pooled(waits: list[float]) -> tuple[float, float]:
        q = statistics.quantiles(waits, n=100) if len(waits) > 1 else [0.0] * 99
        return q[49] * 1000, q[98] * 1000

    for plan in PLANS:
        mine = [run for run in runs if run["plan"] == plan]
        cpu = [1000 * sum(run["cpu_s"][g] for run in mine)
               / max(sum(run["cases"] for run in mine), 1) for g in (0, 1)]
        lines.append(f"  {plan:<24} gateway CPU per case {cpu[0]:.2f} + {cpu[1]:.2f} = "
                     f"{cpu[0] + cpu[1]:.2f} ms")
        for load in LOADS2:
            def of(p: str, load: float = load) -> list[dict[str, Any]]:
                return [x for run in runs if run["plan"] == p for x in run["results"]
                        if x["load"] == load]

            p50, p99 = pooled([w for x in of(plan) for w in x["waits"]])
            b50, b99 = pooled([w for x in of(PLANS[0]) for w in x["waits"]])
            line = (f"    {load:>4.0%}: {p50:4.0f} / {p99:4.0f} ms ({p50 / max(b50, 1e-9):.2f}x / "
                    f"{p99 / max(b99, 1e-9):.2f}x)")
            if plan == PLANS[1]:
                halves = [pooled([w for x in of(plan) for w in x["waits_by_gateway"][g]])
                          for g in (0, 1)]
                line += "   seats on gw 1: {:.0f} / {:.0f} ms, on gw 2: {:.0f} / {:.0f} ms".format(
                    *halves[0], *halves[1])
            lines.append(line)
    return "\n".join(lines)


def table(results: list[dict[str, Any]], review: float) -> str:
    lines = [f"{SEATS} seats, review time exponential with mean {review:g} s: capacity "
             f"{SEATS / review:.0f} cases/s",
             f"{'load':>5} {'arrivals/s':>10} {'offers/s':>9} {'wait p50':>9} {'p99':>9} "
             f"{'mean':>9} {'M/M/50 mean':>11}  {'tasks/seat':>10} {'Jain':>5}"]
    for r in results:
        w = r["wait"]
        lines.append(
            f"{r['load']:>5.0%} {r['arrival']:>10.1f} {w['per_s']:>9.1f} {w['p50_ms']:>6.0f} ms "
            f"{w['p99_ms']:>6.0f} ms {r['mean_ms']:>6.0f} ms {r['theory_ms']:>8.0f} ms  "
            f"{r['min_tasks']:>4}–{r['max_tasks']:<5} {r['jain']:>5.3f}")
    return "\n".join(lines)


def chart(results: list[dict[str, Any]], review: float, path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed (bash run.sh bench installs it)"
    loads = [r["load"] * 100 for r in results]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(loads, [r["wait"]["p50_ms"] for r in results], "o-", label="foureyes p50")
    ax.plot(loads, [r["wait"]["p99_ms"] for r in results], "s-", label="foureyes p99")
    ax.plot(loads, [r["mean_ms"] for r in results], "^-", label="foureyes mean")
    ax.plot(loads, [r["theory_ms"] for r in results], "k--", label="ideal M/M/50 mean (Erlang C)")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel(f"arrival rate, % of seat capacity ({SEATS / review:.0f} cases/s)")
    ax.set_ylabel("request → seat offer (ms)")
    ax.set_title(f"Wait for a seat: {SEATS} seats, mean review {review:g} s")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return f"chart: {path}"
