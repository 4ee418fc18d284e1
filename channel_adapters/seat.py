"""SeatService: one bidirectional stream per authorizer seat.

The first message logs the seat in; after that the seat sends accept/decline/decide and
receives offers, assignments, revocations and the results of its decisions. Supervisor seats
also hear of escalations and may reassign, take back and view the board. A refused action
(stale version, an offer that has moved on) comes back as a SeatError event; the stream stays
open. The seat is logged out when the stream ends, or when it stays silent past the heartbeat
timeout (a half-open TCP connection otherwise looks alive for minutes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from foureyes.channel_adapters.auth import bearer
from foureyes.channel_adapters.convert import details_to_proto, update_to_proto
from foureyes.channel_adapters.errors import status_of
from foureyes.errors import FoureyesError, InvalidRequest, Unavailable
from foureyes.gateway import seat_actions
from foureyes.gateway.gateway import Gateway, SeatLogin
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

_VERDICTS = {pb.APPROVE: "APPROVE", pb.REJECT: "REJECT", pb.RETURN: "RETURN"}
_CHOSEN_PRESENCE = {pb.AVAILABLE: "available", pb.AWAY: "away"}
_PRESENCE = {"available": pb.AVAILABLE, "busy": pb.BUSY, "away": pb.AWAY, "offline": pb.OFFLINE}


def board_to_proto(board: dict[str, Any]) -> pb.Board:
    return pb.Board(
        seats=[pb.SeatRow(seat_id=s["seat_id"], operator_id=s["operator_id"],
                          presence=_PRESENCE[s["presence"]], supervisor=s["supervisor"],
                          authority_level=s["level"], capacity=s["capacity"],
                          tasks=[pb.SeatTask(case_id=t["case_id"], state=t["state"],
                                             category=t["category"], since=t["since"])
                                 for t in s["tasks"]])
               for s in board["seats"]],
        queues=[pb.QueueRow(**q) for q in board["queues"]])


def event_to_proto(event: dict[str, Any]) -> pb.SeatEvent:
    kind = event["type"]
    if kind == "offer":
        return pb.SeatEvent(offer=pb.Offer(case=details_to_proto(event["case"]),
                                           expires_in_ms=event["expires_in_ms"]))
    if kind == "assigned":
        return pb.SeatEvent(assigned=pb.Assigned(case=details_to_proto(event["case"])))
    if kind == "revoked":
        return pb.SeatEvent(revoked=pb.Revoked(case_id=event["case_id"], reason=event["reason"]))
    if kind == "decided":
        return pb.SeatEvent(decided=update_to_proto(event["update"]))
    if kind == "presence":
        return pb.SeatEvent(presence=pb.SetPresence(
            presence=pb.AWAY if event["away"] else pb.AVAILABLE))
    if kind == "escalation":
        return pb.SeatEvent(escalation=pb.Escalation(
            case_id=event["case_id"], reason=event["reason"],
            case=details_to_proto(event["case"]), seat_id=event["seat_id"]))
    if kind == "moved":
        return pb.SeatEvent(moved=pb.Moved(**event["moved"]))
    if kind == "board":
        return pb.SeatEvent(board=board_to_proto(event["board"]))
    return pb.SeatEvent(error=pb.SeatError(case_id=event.get("case_id", ""), code=event["code"],
                                           message=event["message"]))


class SeatAdapter(pbg.SeatServiceServicer):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def Connect(self, requests: AsyncIterator[pb.SeatMessage],
                      context: grpc.aio.ServicerContext) -> AsyncIterator[pb.SeatEvent]:
        operator = self.gateway.guard.operator(bearer(context))
        first = await anext(aiter(requests), None)
        if first is None or first.WhichOneof("body") != "login":
            raise InvalidRequest("the first message on a seat stream must be a login")
        claimed = SeatLogin(first.login.seat_id[:64], first.login.operator_id[:64],
                            first.login.authority_level, tuple(s[:64] for s in first.login.skills[:50]),
                            first.login.capacity or 1, first.login.outlet_id[:64],
                            tuple(u[:64] for u in first.login.scope[:50]), first.login.supervisor)
        login, events = await self.gateway.open_seat(claimed, operator)
        timeout = self.gateway.settings.seat_heartbeat_timeout
        reader = asyncio.create_task(self._read(login.seat_id, requests, events, timeout))
        try:
            yield pb.SeatEvent(logged_in=pb.LoggedIn(
                seat_id=login.seat_id, heartbeat_interval_ms=int(timeout * 1000 / 3)))
            while True:
                event = await events.get()
                if event["type"] == "closed":
                    if event.get("code") == "UNAVAILABLE":  # the service is stopping
                        raise Unavailable(event["message"])
                    return
                self.gateway.seat_told(login.seat_id, event)
                yield event_to_proto(await self._with_thumbnails(event))
        finally:
            try:
                reader.cancel()
                # whatever the reader ended with (a stopping server raises its own error from
                # the request stream), the seat is closed
                await asyncio.gather(reader, return_exceptions=True)
            finally:
                await self.gateway.close_seat(login.seat_id, events)

    async def _with_thumbnails(self, event: dict[str, Any]) -> dict[str, Any]:
        if "case" not in event:
            return event
        return {**event, "case": await self.gateway.evidence.with_thumbnails(event["case"])}

    async def _read(self, seat_id: str, requests: AsyncIterator[pb.SeatMessage],
                    events: asyncio.Queue[dict[str, Any]], timeout: float) -> None:
        incoming = aiter(requests)
        try:
            while True:
                try:
                    async with asyncio.timeout(timeout or None):  # no task, unlike wait_for
                        message = await anext(incoming)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    events.put_nowait({"type": "error", "code": "DEADLINE_EXCEEDED", "message":
                                       f"no message or heartbeat for {timeout:g} s: logged out"})
                    return
                except Exception:  # the call ended (a stopping server): nothing more comes
                    return
                kind = message.WhichOneof("body")
                if kind == "heartbeat":
                    continue
                case_id = getattr(getattr(message, kind), "case_id", "") if kind else ""
                try:
                    events.put_nowait(await self._handle(seat_id, message))
                except FoureyesError as e:
                    code, text = status_of(e)
                    events.put_nowait({"type": "error", "case_id": case_id, "code": code.name,
                                       "message": text})
        finally:
            events.put_nowait({"type": "closed"})

    async def _handle(self, seat_id: str, message: pb.SeatMessage) -> dict[str, Any]:
        kind = message.WhichOneof("body") or ""
        body: Any = getattr(message, kind) if kind else None
        fields: dict[str, Any] = {}
        if kind in ("accept", "decline", "take_back"):
            fields = {"case_id": body.case_id}
        elif kind == "reassign":
            fields = {"case_id": body.case_id, "seat_id": body.seat_id}
        elif kind == "presence":
            fields = {"presence": _CHOSEN_PRESENCE.get(body.presence, "")}
        elif kind == "decide":
            fields = {"case_id": body.case_id, "version": body.version,
                      "verdict": _VERDICTS.get(body.verdict, ""), "reason_code": body.reason_code,
                      "reason_text": body.reason_text, "missing": list(body.missing)}
        return await seat_actions.act(self.gateway, seat_id, kind, fields)
