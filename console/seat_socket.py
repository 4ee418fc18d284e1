"""A console seat: one WebSocket per open seat page, over the same gateway calls as a gRPC
seat stream (Gateway.open_seat / close_seat). The socket only carries pushes (offers,
assignments, revocations, escalations, board changes) and heartbeats; actions come as
HTTP POSTs with the CSRF token (app.py) and go through gateway/seat_actions.py like the
gRPC seat's messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from foureyes.console.errors import status_of
from foureyes.console.web_sessions import COOKIE, WebSessions
from foureyes.errors import FoureyesError, PermissionDenied
from foureyes.gateway import seat_actions
from foureyes.gateway.gateway import Gateway, SeatLogin
from foureyes.security.directory import Operator
from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger(__name__)
CLOSED_BY_SERVER = 4000  # the close code a page reads as "logged out, say why"


def seat_id_of(op: Operator) -> str:
    """A console seat is named after its operator: one seat per operator, as at a desk."""
    return f"web-{op.operator_id}"


def _claimed(op: Operator) -> SeatLogin:
    # everything else is filled in from the directory by the gateway
    return seat_actions.claimed_login(seat_id_of(op), op.operator_id,
                                      supervisor="supervisor" in op.roles)


async def serve_seat(ws: WebSocket, gateway: Gateway, sessions: WebSessions) -> None:
    token = ws.cookies.get(COOKIE, "")
    try:
        op = sessions.operator(token, "authorizer", "supervisor")
        sessions.check_csrf(token, ws.query_params.get("csrf", ""))
        _same_origin(ws)
        login, events = await gateway.open_seat(_claimed(op), op)
    except FoureyesError as e:
        _, code, message = status_of(e)
        await ws.accept()
        await ws.send_json({"type": "error", "code": code, "message": message})
        await ws.close(CLOSED_BY_SERVER, code)
        return
    timeout = gateway.settings.seat_heartbeat_timeout
    await ws.accept()
    reader = asyncio.create_task(_read(ws, token, sessions, events, timeout))
    try:
        await ws.send_json({"type": "logged_in", "seat_id": login.seat_id,
                            "heartbeat_interval_ms": int(timeout * 1000 / 3) or 10000,
                            "supervisor": login.supervisor})
        while True:
            event = await events.get()
            if event["type"] == "closed":
                break
            gateway.seat_told(login.seat_id, event)  # what the seat reviews, for a stop's drain
            await ws.send_text(json.dumps(event, ensure_ascii=False))
        with contextlib.suppress(Exception):  # "shutting down" when the service stops
            await ws.close(CLOSED_BY_SERVER, event.get("message", "closed"))
    except (WebSocketDisconnect, RuntimeError):
        pass  # the page went away
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await gateway.close_seat(login.seat_id, events)


def _same_origin(ws: WebSocket) -> None:
    """Browsers send an Origin on every WebSocket; one from another site is refused (the
    cookie alone would otherwise open a seat for any page the operator visits)."""
    origin = ws.headers.get("origin", "")
    host = ws.headers.get("host", "")
    if origin and origin.split("://", 1)[-1] != host:
        raise PermissionDenied("a seat may be opened only from the console's own pages")


async def _read(ws: WebSocket, token: str, sessions: WebSessions,
                events: asyncio.Queue[dict[str, Any]], timeout: float) -> None:
    """Heartbeats keep the seat open, as on gRPC; each one re-checks the session, so an
    expired or logged-out session (or a disabled operator) ends the seat."""
    try:
        while True:
            try:
                async with asyncio.timeout(timeout or None):
                    await ws.receive_text()
            except TimeoutError:
                events.put_nowait({"type": "error", "code": "DEADLINE_EXCEEDED", "message":
                                   f"no heartbeat for {timeout:g} s: logged out"})
                return
            try:
                sessions.operator(token, "authorizer", "supervisor")
            except FoureyesError as e:
                events.put_nowait({"type": "error", "code": status_of(e)[1], "message": str(e)})
                return
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        events.put_nowait({"type": "closed"})
