"""A small client for one seat's stream: used by the demo, the tests and the benchmarks, and a
starting point for a seat front end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import grpc
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.client import session, sign_in


class SeatClient:
    def __init__(self, channel: grpc.aio.Channel, seat_id: str, operator_id: str, level: int,
                 skills: Iterable[str], capacity: int = 1, outlet_id: str = "",
                 scope: Iterable[str] = (), supervisor: bool = False,
                 heartbeats: bool = True, password: str = "", token: str = "") -> None:
        self.login = pb.Login(seat_id=seat_id, operator_id=operator_id, authority_level=level,
                              skills=list(skills), capacity=capacity, outlet_id=outlet_id,
                              scope=list(scope), supervisor=supervisor)
        self.heartbeats = heartbeats  # False: act like a seat whose network went quiet
        self.password, self.token = password, token  # the operator's credential, or a session
        self._channel = channel
        self._stub = pbg.SeatServiceStub(channel)
        self._out: asyncio.Queue[pb.SeatMessage | None] = asyncio.Queue()
        self._call: grpc.aio.StreamStreamCall | None = None
        self._beat: asyncio.Task[None] | None = None

    async def _messages(self) -> AsyncIterator[pb.SeatMessage]:
        yield pb.SeatMessage(login=self.login)
        while (msg := await self._out.get()) is not None:
            yield msg

    async def connect(self) -> SeatClient:
        if not self.token:
            self.token = await sign_in(self._channel, self.login.operator_id, self.password)
        self._call = self._stub.Connect(self._messages(), credentials=session(self.token))
        first = await self.next()
        if first.WhichOneof("body") != "logged_in":
            raise RuntimeError(f"login refused: {first}")
        interval = first.logged_in.heartbeat_interval_ms / 1000
        if interval and self.heartbeats:
            self._beat = asyncio.create_task(self._heartbeat(interval))
        return self

    async def _heartbeat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._out.put_nowait(pb.SeatMessage(heartbeat=pb.Heartbeat()))

    async def next(self, timeout: float = 10.0) -> pb.SeatEvent:
        assert self._call is not None
        event = await asyncio.wait_for(self._call.read(), timeout)
        if event is grpc.aio.EOF:
            raise EOFError("seat stream closed")
        return event

    async def next_of(self, kind: str, timeout: float = 10.0) -> pb.SeatEvent:
        """The next event of one kind (offer, assigned, revoked, decided, error)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = await self.next(max(deadline - loop.time(), 0.001))
            if event.WhichOneof("body") == kind:
                return event

    def accept(self, case_id: str) -> None:
        self._out.put_nowait(pb.SeatMessage(accept=pb.Accept(case_id=case_id)))

    def set_presence(self, presence: pb.Presence) -> None:
        self._out.put_nowait(pb.SeatMessage(presence=pb.SetPresence(presence=presence)))

    def reassign(self, case_id: str, seat_id: str) -> None:
        self._out.put_nowait(pb.SeatMessage(reassign=pb.Reassign(case_id=case_id,
                                                                 seat_id=seat_id)))

    def take_back(self, case_id: str) -> None:
        self._out.put_nowait(pb.SeatMessage(take_back=pb.TakeBack(case_id=case_id)))

    def view_board(self) -> None:
        self._out.put_nowait(pb.SeatMessage(view_board=pb.ViewBoard()))

    def decline(self, case_id: str) -> None:
        self._out.put_nowait(pb.SeatMessage(decline=pb.Decline(case_id=case_id)))

    def decide(self, case_id: str, version: int, verdict: pb.Verdict,
               reason_code: str = "", reason_text: str = "", missing: Iterable[str] = ()) -> None:
        self._out.put_nowait(pb.SeatMessage(decide=pb.Decide(
            case_id=case_id, version=version, verdict=verdict, reason_code=reason_code,
            reason_text=reason_text, missing=list(missing))))

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
        self._out.put_nowait(None)
        if self._call is not None:
            self._call.cancel()
