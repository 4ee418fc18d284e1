"""A case's image for the console: read through the gateway's evidence store with the same
access decision as `ImageService.GetImage` (the operator of the seat the case is offered to or
in review at, or a supervisor or auditor; every read audited)."""

from __future__ import annotations

import asyncio

from foureyes.errors import NotFound
from foureyes.gateway.gateway import Gateway
from foureyes.security.directory import Operator


async def image_of_case(gateway: Gateway, operator: Operator, case_id: str, image_id: str
                        ) -> tuple[bytes, str]:
    image, chunks = await gateway.evidence.read_image(image_id, operator)
    if image.case_id != case_id:  # the URL names the case: an image of another is not in it
        raise NotFound(f"case {case_id} has no image {image_id}")
    # a file read of up to the image limit (10 MB) stays off the loop that serves every seat
    return await asyncio.to_thread(b"".join, chunks), image.content_type
