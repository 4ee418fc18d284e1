"""(g) Console seats beside gRPC seats: 50 seats on the web console (a WebSocket each, actions
as HTTP POSTs, as the seat page does) and 50 seats on the gRPC stream, all reviewing for an
exponential time with mean `--review` s, under a Poisson flow at 70 % of their capacity.

The baseline is the gRPC seats in the same run: request → offer p50/p99 for the cases the
dispatcher offered to console seats, against those it offered to gRPC seats. The console
seats speak plain HTTP/1.1 over one keep-alive connection each (a small client below: the
benchmark needs no HTTP library).

    bash run.sh bench --only console [--seconds 10] [--review 1.0]
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import websockets
from foureyes.benchmarks.load import Access, approving_seat, request, summary, waits
from foureyes.protos import foureyes_pb2_grpc as pbg

SEATS = 50  # of each kind
LOAD = 0.7


class Http:
    """HTTP/1.1 requests with a cookie over one kept-alive connection, opened again when the
    server has closed it for idleness."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookie = ""
        self.csrf = ""
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                f"X-CSRF-Token: {self.csrf}\r\nCookie: {self.cookie}\r\n\r\n")
        async with self._lock:
            self._writer.write(head.encode() + data)
            status_line = await self._reader.readline()
            if not status_line:  # the server closed the idle connection (keep-alive timeout)
                await self.open()
                self._writer.write(head.encode() + data)
                status_line = await self._reader.readline()
            length = 0
            while (line := await self._reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "set-cookie" and value.strip().startswith("foureyes_session="):
                    self.cookie = value.strip().split(";", 1)[0]
            payload = await self._reader.readexactly(length)
        return int(status_line.split()[1]), json.loads(payload or b"{}")


async def signed_in(url: str, operator_id: str, password: str) -> Http:
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    http = Http(host, int(port))
    await http.open()
    status, me = await http.post("/api/login", {"operator_id": operator_id, "password": password})
    assert status == 200, me
    http.csrf = me["csrf"]
    return http


async def console_seat(http: Http, offered: dict[str, float], review: Any, ready: asyncio.Event,
                       count: list[int], refused: list[str]) -> None:
    """A simulated console seat, signed in already: opens the seat's WebSocket, accepts every
    offer, reviews, approves, as the seat page does."""
    where = f"{http.host}:{http.port}"
    async with websockets.connect(f"ws://{where}/ws/seat?csrf={http.csrf}", open_timeout=120,
                                  additional_headers={"Cookie": http.cookie},
                                  origin=f"http://{where}") as ws:  # type: ignore[arg-type]
        first = json.loads(await ws.recv())
        assert first["type"] == "logged_in", first
        count[0] += 1
        if count[0] == SEATS:
            ready.set()
        beat = asyncio.create_task(_heartbeats(ws, first["heartbeat_interval_ms"] / 1000))
        try:
            async for message in ws:
                event = json.loads(message)
                if event["type"] != "offer":
                    continue
                case_id = event["case"]["case_id"]
                offered.setdefault(case_id, time.perf_counter())
                status, answer = await http.post("/api/seat/accept", {"case_id": case_id})
                if status != 200:
                    refused.append(answer.get("code", str(status)))
                    continue
                await asyncio.sleep(review())
                await http.post("/api/seat/decide", {"case_id": case_id, "verdict": "APPROVE",
                                                     "version": answer["case"]["version"]})
        finally:
            beat.cancel()


async def _heartbeats(ws: Any, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await ws.send('{"type": "heartbeat"}')


async def run(address: str, console_url: str, seconds: float, review: float, access: Access,
              seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    rate = LOAD * 2 * SEATS / review
    async with access.channel(address) as channel:
        stub = pbg.TellerChannelStub(channel)
        grpc_seats = [await access.seat(channel, f"mixed-{i}", f"mixed-auth-{i}").connect()
                      for i in range(SEATS)]
        grpc_offered: dict[str, float] = {}
        web_offered: dict[str, float] = {}
        ready = asyncio.Event()
        count = [0]
        refused: list[str] = []
        workers = [asyncio.create_task(approving_seat(
            s, grpc_offered, lambda: rng.expovariate(1 / review))) for s in grpc_seats]
        # one at a time, as the gRPC seats did: each sign-in is an argon2 check on the service
        https = [await signed_in(console_url, f"console-auth-{i}",
                                 access.passwords[f"console-auth-{i}"]) for i in range(SEATS)]
        workers += [asyncio.create_task(console_seat(
            http, web_offered, lambda: rng.expovariate(1 / review), ready, count, refused))
            for http in https]
        await asyncio.wait_for(ready.wait(), 180)
        sent: dict[str, float] = {}

        async def one() -> None:
            t = time.perf_counter()
            d = await stub.Authorize(request("60000", "CASH_WITHDRAWAL"), metadata=access.metadata)
            sent[d.case_id] = t

        start = time.perf_counter()
        due, calls = start, []
        while (due := due + rng.expovariate(rate)) < start + seconds:
            await asyncio.sleep(max(due - time.perf_counter(), 0))
            calls.append(asyncio.create_task(one()))
        await asyncio.gather(*calls)
        elapsed = time.perf_counter() - start
        await asyncio.sleep(3 * review)  # the last cases find a seat
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for s in grpc_seats:
            await s.close()
    return {"rate": rate, "arrivals": len(calls) / elapsed,
            "grpc": summary(waits(sent, grpc_offered), elapsed),
            "console": summary(waits(sent, web_offered), elapsed), "refused": refused}


def run_in_child(address: str, console_url: str, seconds: float, review: float,
                 access: Access) -> dict[str, Any]:
    return asyncio.run(run(address, console_url, seconds, review, access))


def table(r: dict[str, Any], review: float) -> str:
    g, c = r["grpc"], r["console"]
    return "\n".join([
        f"{SEATS} gRPC + {SEATS} console seats, review exponential mean {review:g} s, "
        f"{LOAD:.0%} load: {r['arrivals']:.1f} cases/s",
        f"{'seats':<22} {'offers':>7} {'p50':>9} {'p99':>9}",
        f"{'gRPC stream (baseline)':<22} {g['n']:>7} {g['p50_ms']:>6.1f} ms {g['p99_ms']:>6.1f} ms",
        f"{'console WebSocket':<22} {c['n']:>7} {c['p50_ms']:>6.1f} ms {c['p99_ms']:>6.1f} ms",
        f"{'difference':<22} {'':>7} {c['p50_ms'] - g['p50_ms']:>+6.1f} ms "
        f"{c['p99_ms'] - g['p99_ms']:>+6.1f} ms",
        f"console accepts refused: {len(r['refused'])} {sorted(set(r['refused']))}"])

