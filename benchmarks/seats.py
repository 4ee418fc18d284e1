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
import math
import random
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from foureyes.benchmarks.load import Access, approving_seat, request, summary, waits
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
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


async def sweep(address: str, seconds: float, review: float, access: Access, seed: int = 7
                ) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    capacity = SEATS / review
    metadata = access.metadata
    async with access.channel(address) as channel:
        stub = pbg.TellerChannelStub(channel)
        sent: dict[str, float] = {}
        offered: dict[str, float] = {}
        tasks: Counter[str] = Counter()
        created: set[str] = set()
        finished: set[str] = set()  # may be told before the channel's answer arrives
        settled = asyncio.Event()  # every case created so far is decided
        seats = [await access.seat(channel, f"center-{i}", f"center-auth-{i}").connect()
                 for i in range(SEATS)]

        def seen(seat: SeatClient, event: pb.SeatEvent) -> None:
            kind = event.WhichOneof("body")
            if kind == "assigned":
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
        for load in LOADS:
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
                "min_tasks": min(counts), "max_tasks": max(counts), "jain": jain(counts)})
            print(f"  load {load:.0%}: done", flush=True)
        for w in workers:
            w.cancel()
        for s in seats:
            await s.close()
        return results


def sweep_in_child(address: str, seconds: float, review: float, access: Access
                   ) -> list[dict[str, Any]]:
    return asyncio.run(sweep(address, seconds, review, access))


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
