"""(d) The authorization center under a steady flow: 50 simulated seats, each taking a random
review time (exponential, mean `--review` s), and cases arriving at random (Poisson) at a rate
swept towards the seats' capacity (50 / review cases/s).

For each rate: request→offer p50/p99 (the wait for a seat), offers/s, and the spread of tasks
per seat (fairness). The baseline, in the same table, is queueing theory: the mean wait of an
ideal M/M/50 center (Erlang C) at the same load, so what the dispatcher adds is the gap.
Writes a PNG chart of wait against load (`--chart`, needs matplotlib: `bash run.sh bench`
installs it).

    bash run.sh bench --only seats [--seconds 8] [--review 1.0] [--chart FILE]
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from foureyes.benchmarks.gateways import cpu_seconds
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
            counts = [tasks.get(s.login.seat_id, 0) for s in seats]
            results.append({
                "load": load, "arrival": len(calls) / elapsed, "wait": summary(rate_waits, elapsed),
                "theory_ms": erlang_c_wait(SEATS, rate, review) * 1000,
                "mean_ms": statistics.fmean(rate_waits) * 1000 if rate_waits else 0.0,
                "min_tasks": min(counts), "max_tasks": max(counts), "jain": jain(counts),
                # the same waits by the gateway of the seat the case was first offered to
                "by_gateway": [summary([offered[c] - t for c, t in sent.items()
                                        if c in offered and gateway_of[first_seat[c]] == g],
                                       elapsed) for g in range(len(gateways))]})
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


async def across_gateways(first: str, second: str, seconds: float, review: float,
                          access: Access, rounds: int, pids: tuple[int, int]
                          ) -> list[dict[str, Any]]:
    """Each plan once a round on the same arrivals (one seed a round), the order reversed every
    other round (ABC CBA: a drifting machine weighs on each alike). `pids`: the two gateways'
    processes, whose CPU time each sweep is measured by."""
    async with access.channel(first) as channel:  # one sign-in each: sessions hold on both
        tokens = {op: await sign_in(channel, op, pw) for op, pw in access.passwords.items()
                  if op.startswith("center-auth-")}
    seat_addresses = dict(zip(PLANS, ((first,), (first, second), (second,)), strict=True))
    for plan in PLANS:  # warm up, not measured: connections, caches, database pages
        await sweep(first, min(seconds, 2.0), review, access, seed=1, loads=(0.5,),
                    seat_addresses=seat_addresses[plan], tokens=tokens)
    runs = []
    for r in range(rounds):
        for plan in PLANS if r % 2 == 0 else PLANS[::-1]:
            print(f"  round {r + 1}, {plan}", flush=True)
            before = [cpu_seconds(p) for p in pids]
            results = await sweep(first, seconds, review, access, seed=7 + r, loads=LOADS2,
                                  seat_addresses=seat_addresses[plan], tokens=tokens)
            cpu = [cpu_seconds(p) - b for p, b in zip(pids, before, strict=True)]
            runs.append({"round": r + 1, "plan": plan, "results": results, "cpu_s": cpu,
                         "cases": sum(x["wait"]["n"] for x in results)})
    return runs


def across_gateways_in_child(*args: Any) -> list[dict[str, Any]]:
    return asyncio.run(across_gateways(*args))


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
    lines.append("over the rounds (median of the per-round ratios; CPU: all cases of the plan)")
    for plan in PLANS:
        mine = [run for run in runs if run["plan"] == plan]
        cpu = [1000 * sum(run["cpu_s"][g] for run in mine) / max(sum(run["cases"] for run in mine), 1)
               for g in (0, 1)]
        ratios = []
        for load in LOADS2:
            both = [(x["wait"], base[(run["round"], load)]) for run in mine
                    for x in run["results"] if x["load"] == load]
            p50 = statistics.median(w["p50_ms"] / max(b["p50_ms"], 1e-9) for w, b in both)
            p99 = statistics.median(w["p99_ms"] / max(b["p99_ms"], 1e-9) for w, b in both)
            ratios.append(f"{load:.0%} {p50:.2f}x/{p99:.2f}x")
        lines.append(f"  {plan:<24} p50/p99 ×base: {', '.join(ratios)}; gateway CPU per case "
                     f"{cpu[0]:.2f} + {cpu[1]:.2f} = {cpu[0] + cpu[1]:.2f} ms")
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
