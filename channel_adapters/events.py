"""EventFeed: the case events of every shard, replayed from a cursor and followed live."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from foureyes.channel_adapters.auth import bearer
from foureyes.channel_adapters.convert import feed_event_to_proto
from foureyes.gateway.gateway import Gateway
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg


class EventsAdapter(pbg.EventFeedServicer):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def Events(self, request: pb.EventsRequest, context: grpc.aio.ServicerContext
                     ) -> AsyncIterator[pb.FeedEvent]:
        self.gateway.guard.operator(bearer(context), "supervisor", "auditor")
        async for event in self.gateway.feed_events(dict(request.after), list(request.kinds),
                                                    request.follow):
            yield feed_event_to_proto(event)
