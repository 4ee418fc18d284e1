"""The three channel services. Each front end differs only in what it knows about itself;
Authorize, WatchCase and CancelCase behave alike on all three."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from foureyes.channel_adapters.convert import channel_request, decision_to_proto, update_to_proto
from foureyes.errors import InvalidRequest
from foureyes.gateway.gateway import ChannelRequest, Gateway
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg


class _ChannelBase:
    channel = ""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def to_request(self, request: Any) -> ChannelRequest:
        raise NotImplementedError

    async def Authorize(self, request: Any, context: grpc.aio.ServicerContext) -> pb.Decision:
        return decision_to_proto(await self.gateway.authorize(self.to_request(request)))

    async def WatchCase(self, request: pb.WatchCaseRequest, context: grpc.aio.ServicerContext
                        ) -> AsyncIterator[pb.CaseUpdate]:
        if not request.case_id:
            raise InvalidRequest("case_id is required")
        async for update in self.gateway.watch(request.case_id):
            yield update_to_proto(update)

    async def CancelCase(self, request: pb.CancelCaseRequest, context: grpc.aio.ServicerContext
                         ) -> pb.CaseUpdate:
        if not request.case_id:
            raise InvalidRequest("case_id is required")
        return update_to_proto(await self.gateway.cancel(request.case_id, request.reason))

    async def SupplementCase(self, request: pb.SupplementCaseRequest,
                             context: grpc.aio.ServicerContext) -> pb.CaseUpdate:
        if not request.case_id:
            raise InvalidRequest("case_id is required")
        return update_to_proto(await self.gateway.supplement(
            request.case_id, list(request.supplied), request.note))


class TellerAdapter(_ChannelBase, pbg.TellerChannelServicer):
    channel = "teller"

    def to_request(self, r: pb.TellerRequest) -> ChannelRequest:
        if not r.operator_id:
            raise InvalidRequest("operator_id is required for teller requests")
        return channel_request(
            self.channel, r.operator_id, r.outlet_id,
            {"operator.id": r.operator_id, "outlet.id": r.outlet_id, "terminal.id": r.terminal_id},
            r.transaction, r)


class SelfServiceAdapter(_ChannelBase, pbg.SelfServiceChannelServicer):
    channel = "self_service"

    def to_request(self, r: pb.SelfServiceRequest) -> ChannelRequest:
        if not r.device_id:
            raise InvalidRequest("device_id is required for self-service requests")
        return channel_request(
            self.channel, f"device:{r.device_id}", r.outlet_id,
            {"device.id": r.device_id, "device.location": r.location, "outlet.id": r.outlet_id},
            r.transaction, r)


class MobileAdapter(_ChannelBase, pbg.MobileChannelServicer):
    channel = "mobile"

    def to_request(self, r: pb.MobileRequest) -> ChannelRequest:
        if not r.session_id:
            raise InvalidRequest("session_id is required for mobile requests")
        return channel_request(
            self.channel, f"session:{r.session_id}", "",
            {"app.id": r.app_id, "session.id": r.session_id, "device.id": r.device_id},
            r.transaction, r)
