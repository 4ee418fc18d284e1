"""The web console's routes: pages, sign-in, the seat's actions, the board, statistics.

Pages and scripts are static files (console/static); every page loads its data from the
JSON routes here with the session cookie, and every action (a POST) carries the CSRF
token. What an operator may do is decided by the gateway and the Guard, exactly as for a
gRPC caller: the routes only translate."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from foureyes.console import images
from foureyes.console.errors import status_of
from foureyes.console.seat_socket import seat_id_of, serve_seat
from foureyes.console.web_sessions import COOKIE, CSRF_HEADER, WebSessions
from foureyes.errors import FoureyesError, InvalidRequest, PermissionDenied
from foureyes.gateway import seat_actions
from foureyes.gateway.gateway import Gateway
from foureyes.security.directory import Operator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

STATIC = Path(__file__).parent / "static"
SEAT_ROLES = ("authorizer", "supervisor")
STATS_ROLES = ("supervisor", "auditor")  # as the gRPC StatsService
MAX_BODY = 64 * 1024
PERIODS = ("hour", "day", "month")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


class SecurityHeaders:
    """Every response: a Content-Security-Policy without inline script, no sniffing, no
    framing, no referrer, and nothing from the API kept in a cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()),
                            (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"cache-control", b"no-store")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _error(e: FoureyesError) -> JSONResponse:
    status, code, message = status_of(e)
    return JSONResponse({"code": code, "message": message}, status)


class Console:
    def __init__(self, gateway: Gateway, secure: bool) -> None:
        self.gateway = gateway
        self.sessions = WebSessions(gateway.guard, secure)

    # ------------------------------------------------------------------ helpers

    def _operator(self, request: Request, *roles: str) -> tuple[Operator, str]:
        token = request.cookies.get(COOKIE, "")
        return self.sessions.operator(token, *roles), token

    def _action(self, request: Request, *roles: str) -> tuple[Operator, str]:
        """An action: signed in, with the CSRF token, from the console's own origin."""
        op, token = self._operator(request, *roles)
        self.sessions.check_csrf(token, request.headers.get(CSRF_HEADER, ""))
        return op, token

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            raise InvalidRequest("send JSON (Content-Type: application/json)")
        body = await request.body()
        if len(body) > MAX_BODY:
            raise InvalidRequest(f"a request body is at most {MAX_BODY} bytes")
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            raise InvalidRequest("the request body is not JSON") from None
        if not isinstance(doc, dict):
            raise InvalidRequest("the request body must be a JSON object")
        return doc

    def _page(self, request: Request, name: str, *roles: str) -> Response:
        try:
            self._operator(request, *roles)
        except PermissionDenied as e:
            return Response(f"403 forbidden: {e}\n", 403, media_type="text/plain")
        except FoureyesError:
            return RedirectResponse(f"/login?next={request.url.path}", 303)
        return FileResponse(STATIC / name)

    # ------------------------------------------------------------------ pages

    async def seat_page(self, request: Request) -> Response:
        return self._page(request, "seat.html", *SEAT_ROLES)

    async def board_page(self, request: Request) -> Response:
        return self._page(request, "board.html", "supervisor")

    async def dashboard_page(self, request: Request) -> Response:
        return self._page(request, "dashboard.html", *STATS_ROLES)

    async def login_page(self, request: Request) -> Response:
        return FileResponse(STATIC / "login.html")

    # ------------------------------------------------------------------ sign-in

    def _me(self, op: Operator, token: str) -> dict[str, Any]:
        return {"operator_id": op.operator_id, "name": op.name, "level": op.level,
                "skills": list(op.skills), "roles": sorted(op.roles), "outlet": op.outlet,
                "seat_id": seat_id_of(op), "csrf": self.sessions.csrf(token)}

    async def login(self, request: Request) -> Response:
        try:
            doc = await self._json(request)
            operator_id, password = doc.get("operator_id"), doc.get("password")
            if not isinstance(operator_id, str) or not isinstance(password, str):
                raise InvalidRequest("sign in with operator_id and password")
            token, expires, op = self.sessions.sign_in(operator_id, password)
        except FoureyesError as e:
            return _error(e)
        response = JSONResponse(self._me(op, token))
        response.set_cookie(COOKIE, token, max_age=max(int(expires - time.time()), 1),
                            path="/", secure=self.sessions.secure, httponly=True,
                            samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        try:
            _, token = self._action(request)
        except FoureyesError as e:
            return _error(e)
        self.sessions.end(token)
        response = JSONResponse({"signed_out": True})
        response.delete_cookie(COOKIE, path="/", secure=self.sessions.secure, httponly=True,
                               samesite="strict")
        return response

    async def me(self, request: Request) -> Response:
        try:
            op, token = self._operator(request)
        except FoureyesError as e:
            return _error(e)
        return JSONResponse(self._me(op, token))

    # ------------------------------------------------------------------ the seat

    def _own_seat(self, op: Operator) -> str:
        """The operator's console seat, which must be open (its page connected)."""
        seat_id = seat_id_of(op)
        session = self.gateway.seats.get(seat_id)
        if session is None or session[0].operator_id != op.operator_id:
            raise PermissionDenied("open the seat page first: this operator has no seat open")
        return seat_id

    async def act(self, request: Request) -> Response:
        action = request.path_params["action"]
        try:
            op, _ = self._action(request, *SEAT_ROLES)
            if action not in seat_actions.ACTIONS:
                raise InvalidRequest(f"unknown action {action[:40]!r}")
            fields = await self._json(request)
            seat_id = self._own_seat(op)
            event = await seat_actions.act(self.gateway, seat_id, action, fields)
        except FoureyesError as e:
            return _error(e)
        self.gateway.seat_told(seat_id, event)  # answered here, not on the seat's socket
        return JSONResponse(event)

    async def history(self, request: Request) -> Response:
        try:
            op, _ = self._operator(request, *SEAT_ROLES)
            events = await self.gateway.history(self._own_seat(op),
                                                request.path_params["case_id"][:64])
        except FoureyesError as e:
            return _error(e)
        return JSONResponse({"events": events})

    async def image(self, request: Request) -> Response:
        try:
            op, _ = self._operator(request, *SEAT_ROLES)
            data, media_type = await images.image_of_case(
                self.gateway, op, request.path_params["case_id"][:64],
                request.path_params["image_id"][:128])
        except FoureyesError as e:
            return _error(e)
        return Response(data, media_type=media_type)

    async def seat_socket(self, ws: WebSocket) -> None:
        await serve_seat(ws, self.gateway, self.sessions)

    # ------------------------------------------------------------------ statistics

    async def stats(self, request: Request) -> Response:
        try:
            self._operator(request, *STATS_ROLES)
            q = request.query_params
            try:
                until = float(q.get("until") or time.time())
                since = float(q.get("since") or until - 14 * 86400)
                top = int(q.get("top") or 10)
            except ValueError:
                raise InvalidRequest("since and until are UNIX times, top a number") from None
            by = q.get("by", "day")
            if by not in PERIODS:
                raise InvalidRequest(f"by is one of {', '.join(PERIODS)}")
            report = await self.gateway.statistics(since, until, by, q.get("group", "all")[:32],
                                                   max(1, min(top, 50)))
        except FoureyesError as e:
            return _error(e)
        return JSONResponse(report.to_dict())

    # ------------------------------------------------------------------ the app

    def app(self) -> ASGIApp:
        routes = [
            Route("/", self.seat_page),
            Route("/login", self.login_page),
            Route("/board", self.board_page),
            Route("/dashboard", self.dashboard_page),
            Route("/api/login", self.login, methods=["POST"]),
            Route("/api/logout", self.logout, methods=["POST"]),
            Route("/api/me", self.me),
            Route("/api/seat/{action}", self.act, methods=["POST"]),
            Route("/api/cases/{case_id}/history", self.history),
            Route("/api/cases/{case_id}/images/{image_id}", self.image),
            Route("/api/stats", self.stats),
            WebSocketRoute("/ws/seat", self.seat_socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
        return SecurityHeaders(Starlette(routes=routes))
