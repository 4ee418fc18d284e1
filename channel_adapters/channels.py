"""The three channel services. Each front end differs only in what it knows about itself;
Authorize, WatchCase and CancelCase behave alike on all three."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from foureyes.channel_adapters.auth import bearer
from foureyes.channel_adapters.convert import channel_request, decision_to_proto, update_to_proto
from foureyes.channel_adapters.images import upload_image
from foureyes.errors import InvalidRequest
from foureyes.gateway.gateway import ChannelRequest, Gateway
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.security.systems import System

MAX_CASE_ID = 64


class _ChannelBase:
    channel = ""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def to_request(self, request: Any, system: str) -> ChannelRequest:
        raise NotImplementedError

    def _system(self, context: grpc.aio.ServicerContext) -> System:
        """The calling system, if it may call this channel (its outlets are checked where a
        request names one)."""
        return self.gateway.guard.system(bearer(context), self.channel, None)

    def _case_id(self, case_id: str) -> str:
        if not case_id or len(case_id) > MAX_CASE_ID:
            raise InvalidRequest("case_id is required (at most 64 characters)")
        return case_id

    async def Authorize(self, request: Any, context: grpc.aio.ServicerContext) -> pb.Decision:
        system = self._system(context)  # before any work
        req = self.to_request(request, system.name)
        system.may_call(self.channel, req.outlet)
        return decision_to_proto(await self.gateway.authorize(req))

    async def WatchCase(self, request: pb.WatchCaseRequest, context: grpc.aio.ServicerContext
                        ) -> AsyncIterator[pb.CaseUpdate]:
        system = self._system(context).name
        async for update in self.gateway.watch(self._case_id(request.case_id), system):
            yield update_to_proto(update)

    async def CancelCase(self, request: pb.CancelCaseRequest, context: grpc.aio.ServicerContext
                         ) -> pb.CaseUpdate:
        system = self._system(context).name
        return update_to_proto(await self.gateway.cancel(
            self._case_id(request.case_id), request.reason[:500], system))

    async def SupplementCase(self, request: pb.SupplementCaseRequest,
                             context: grpc.aio.ServicerContext) -> pb.CaseUpdate:
        system = self._system(context).name
        return update_to_proto(await self.gateway.supplement(
            self._case_id(request.case_id), [s[:200] for s in request.supplied[:50]],
            request.note[:500], system))

    async def UploadImage(self, requests: AsyncIterator[pb.ImageChunk],
                          context: grpc.aio.ServicerContext) -> pb.UploadImageResponse:
        system = self._system(context).name
        return await upload_image(self.gateway, system, requests)


class TellerAdapter(_ChannelBase, pbg.TellerChannelServicer):
    channel = "teller"

    def to_request(self, r: pb.TellerRequest, system: str) -> ChannelRequest:
        if not r.operator_id:
            raise InvalidRequest("operator_id is required for teller requests")
        return channel_request(
            self.channel, r.operator_id, r.outlet_id,
            {"operator.id": r.operator_id, "outlet.id": r.outlet_id, "terminal.id": r.terminal_id},
            r.transaction, r, system)


class SelfServiceAdapter(_ChannelBase, pbg.SelfServiceChannelServicer):
    channel = "self_service"

    def to_request(self, r: pb.SelfServiceRequest, system: str) -> ChannelRequest:
        if not r.device_id:
            raise InvalidRequest("device_id is required for self-service requests")
        return channel_request(
            self.channel, f"device:{r.device_id}", r.outlet_id,
            {"device.id": r.device_id, "device.location": r.location, "outlet.id": r.outlet_id},
            r.transaction, r, system)


class MobileAdapter(_ChannelBase, pbg.MobileChannelServicer):
    channel = "mobile"

    def to_request(self, r: pb.MobileRequest, system: str) -> ChannelRequest:
        if not r.session_id:
            raise InvalidRequest("session_id is required for mobile requests")
        return channel_request(
            self.channel, f"session:{r.session_id}", "",
            {"app.id": r.app_id, "session.id": r.session_id, "device.id": r.device_id},
            r.transaction, r, system)
