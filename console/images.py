"""The seam for the case's images (issue "Evidence"): the console shows an image by asking the
gateway for it as the seat that reviews the case. Until the gateway has image storage
(`Gateway.image_for_seat(seat_id, case_id, image_id) -> (bytes, media type)`), every image
is NOT_FOUND and the seat page shows "no images"."""

from __future__ import annotations

from foureyes.errors import NotFound
from foureyes.gateway.gateway import Gateway


async def image_for_seat(gateway: Gateway, seat_id: str, case_id: str, image_id: str
                         ) -> tuple[bytes, str]:
    fetch = getattr(gateway, "image_for_seat", None)
    if fetch is None:
        raise NotFound("this service keeps no images yet")
    data, media_type = await fetch(seat_id, case_id, image_id)
    return bytes(data), str(media_type)
