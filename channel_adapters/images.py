"""Evidence at the gRPC edge: UploadImage (on each channel service) and ImageService.GetImage.
The checks and the access decision are the gateway's (gateway/evidence.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from foureyes.channel_adapters.auth import bearer
from foureyes.channel_adapters.convert import case_image_to_proto, update_to_proto
from foureyes.errors import InvalidRequest
from foureyes.gateway.evidence import ImageUpload
from foureyes.gateway.gateway import Gateway
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

MAX_TEXT = 64


async def upload_image(gateway: Gateway, system: str, requests: AsyncIterator[pb.ImageChunk]
                       ) -> pb.UploadImageResponse:
    incoming = aiter(requests)
    first = await anext(incoming, None)
    if first is None or first.WhichOneof("body") != "header":
        raise InvalidRequest("the first message of an upload must be its header")
    h = first.header
    for name in ("case_id", "kind", "type", "content_type", "captured_by"):
        if len(getattr(h, name)) > MAX_TEXT:
            raise InvalidRequest(f"header.{name} is longer than {MAX_TEXT} characters")
    header = ImageUpload(h.case_id, h.kind, h.type, h.content_type, h.size, h.sha256,
                         h.captured_by)

    async def data() -> AsyncIterator[bytes]:
        async for message in incoming:
            if message.WhichOneof("body") != "data":
                raise InvalidRequest("after its header an upload sends only data")
            yield message.data

    receipt = await gateway.evidence.upload(header, data(), system)
    return pb.UploadImageResponse(
        image_id=receipt.image_id, sha256=receipt.sha256, stored_before=receipt.stored_before,
        case=update_to_proto(receipt.update), lacking=receipt.lacking,
        checks=[pb.ImageCheck(**c) for c in receipt.checks])


class ImageAdapter(pbg.ImageServiceServicer):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def GetImage(self, request: pb.GetImageRequest, context: grpc.aio.ServicerContext
                       ) -> AsyncIterator[pb.ImageData]:
        operator = self.gateway.guard.operator(bearer(context))
        image, chunks = await self.gateway.evidence.read_image(request.image_id, operator)
        item = {**image.item(), "thumbnail": image.thumbnail}
        yield pb.ImageData(info=case_image_to_proto(item))
        for chunk in chunks:
            yield pb.ImageData(data=chunk)
