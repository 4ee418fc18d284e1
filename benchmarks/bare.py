"""The case path's baseline: the same gRPC conversation with nothing behind it.

A grpc.aio server that speaks TellerChannel.Authorize/WatchCase and SeatService.Connect the way
foureyes does (the same messages, in the same order) but keeps everything in one dict in
memory: no rules, no store, no actors, no fsync. The case-path load generator drives it in the
same run as foureyes, so the ratio between the two is what foureyes' own work costs, and its
throughput is the most any gRPC gateway in Python can reach on this machine.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import grpc
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg


class _Case:
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        self.version = 1
        self.state = pb.QUEUED
        self.changed = asyncio.Event()

    def update(self) -> pb.CaseUpdate:
        return pb.CaseUpdate(case_id=self.case_id, state=self.state, version=self.version,
                             approvers=1, final=self.state == pb.APPROVED)

    def details(self) -> pb.CaseDetails:
        return pb.CaseDetails(case_id=self.case_id, version=self.version, channel="teller",
                              authority_level=2, approvers=1, transaction_code="CASH_WITHDRAWAL")

    def move(self, state: int) -> None:
        self.state, self.version = state, self.version + 1
        self.changed.set()
        self.changed = asyncio.Event()


class Bare(pbg.TellerChannelServicer, pbg.SeatServiceServicer):
    def __init__(self) -> None:
        self.cases: dict[str, _Case] = {}
        self.queue: deque[_Case] = deque()
        self.free: deque[asyncio.Queue[pb.SeatEvent]] = deque()  # idle seats' streams
        self._ids = itertools.count()

    def _offer(self) -> None:
        while self.queue and self.free:
            case, seat = self.queue.popleft(), self.free.popleft()
            case.move(pb.OFFERED)
            seat.put_nowait(pb.SeatEvent(offer=pb.Offer(case=case.details(),
                                                        expires_in_ms=30_000)))

    async def Authorize(self, request: Any, context: grpc.aio.ServicerContext) -> pb.Decision:
        case = _Case(f"B{next(self._ids)}")
        self.cases[case.case_id] = case
        self.queue.append(case)
        self._offer()
        return pb.Decision(outcome=pb.REQUIRED, case_id=case.case_id, mode=pb.REMOTE,
                           authority_level=2, approvers=1)

    async def WatchCase(self, request: pb.WatchCaseRequest, context: grpc.aio.ServicerContext
                        ) -> AsyncIterator[pb.CaseUpdate]:
        case = self.cases[request.case_id]
        while True:
            changed, update = case.changed, case.update()
            yield update
            if update.final:
                return
            await changed.wait()

    async def Connect(self, requests: AsyncIterator[pb.SeatMessage],
                      context: grpc.aio.ServicerContext) -> AsyncIterator[pb.SeatEvent]:
        first = await anext(aiter(requests))
        events: asyncio.Queue[pb.SeatEvent] = asyncio.Queue()
        reader = asyncio.create_task(self._read(requests, events))
        try:
            yield pb.SeatEvent(logged_in=pb.LoggedIn(seat_id=first.login.seat_id))
            self.free.append(events)
            self._offer()
            while True:
                yield await events.get()
        finally:
            reader.cancel()
            if events in self.free:  # a seat gone is offered nothing more
                self.free.remove(events)

    async def _read(self, requests: AsyncIterator[pb.SeatMessage],
                    events: asyncio.Queue[pb.SeatEvent]) -> None:
        async for message in requests:
            if message.HasField("accept"):
                case = self.cases[message.accept.case_id]
                case.move(pb.IN_REVIEW)
                events.put_nowait(pb.SeatEvent(assigned=pb.Assigned(case=case.details())))
            elif message.HasField("decide"):
                case = self.cases[message.decide.case_id]
                case.move(pb.APPROVED)
                events.put_nowait(pb.SeatEvent(decided=case.update()))
                self.free.append(events)
                self._offer()


async def serve(tls: tuple[bytes, bytes]) -> tuple[grpc.aio.Server, str]:
    """Over TLS like foureyes, so the ratio is what foureyes does behind the port."""
    server = grpc.aio.server()
    bare = Bare()
    pbg.add_TellerChannelServicer_to_server(bare, server)
    pbg.add_SeatServiceServicer_to_server(bare, server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([tls]))
    await server.start()
    return server, f"127.0.0.1:{port}"
