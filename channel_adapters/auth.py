"""Credentials from gRPC metadata, and the AuthService where operators sign in."""

from __future__ import annotations

import grpc
from foureyes.errors import Unauthenticated
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.security.guard import Guard

MAX_TOKEN = 8192


def bearer(context: grpc.aio.ServicerContext) -> str:
    """The token of the call's one `authorization: Bearer …` entry; empty if there is none."""
    found = [v for k, v in context.invocation_metadata() or () if k == "authorization"]
    if not found:
        return ""
    if len(found) > 1:
        raise Unauthenticated("more than one authorization entry")
    value = found[0] if isinstance(found[0], str) else found[0].decode("ascii", "replace")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
        raise Unauthenticated("authorization must be `Bearer <token>`")
    return token.strip()


class AuthAdapter(pbg.AuthServiceServicer):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def SignIn(self, request: pb.SignInRequest, context: grpc.aio.ServicerContext
                     ) -> pb.SignInResponse:
        token, expires, op = self.guard.sign_in(request.operator_id[:64], request.password[:1024],
                                                request.id_token[:MAX_TOKEN])
        return pb.SignInResponse(session_token=token, expires_at=expires,
                                 operator_id=op.operator_id, authority_level=op.level,
                                 skills=list(op.skills), scope=list(op.scope),
                                 outlet_id=op.outlet, roles=sorted(op.roles))
