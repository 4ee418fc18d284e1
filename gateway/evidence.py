"""Evidence: uploads checked and stored, images served to whom may see them. No protobuf.

An upload is a header (case, kind and type from the rule set's image model, content type,
size, SHA-256 of the whole) and then its bytes, which are counted against the limits as they
arrive: an upload over its limit is cut off (ResourceExhausted) before it is all read. The
bytes are sniffed (magic numbers) and must be what the header declares; pictures are decoded
whole by Pillow under its decompression-bomb limit (a truncated or forged picture fails
there), which also gives the thumbnail, the perceptual hash and the EXIF capture time. Only
then is the blob committed (fsync, rename), indexed and added to the case: a refused upload
stores nothing.

`read_image` is the one access decision for an original: a supervisor or an auditor, or the
operator of the seat the case is offered to or in review at right now; every access, granted
or refused, is audited. The gRPC adapter and the web console both call it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import re
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import imagehash
from foureyes.errors import Conflict, InvalidRequest, NotFound, PermissionDenied, ResourceExhausted
from foureyes.gateway.settings import EvidenceSettings
from foureyes.rules.book import RuleBook
from foureyes.rules.model import Outcome
from foureyes.security.directory import Operator
from foureyes.store.audit_log import AuditLog
from foureyes.store.backend import Opener, sqlite
from foureyes.store.images import BlobStore, FileBlobStore, ImageIndex, StoredImage, read_chunks
from PIL import Image, UnidentifiedImageError

PICTURES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF"}
CONTENT_TYPES = (*PICTURES, "application/pdf", "video/mp4")
VIDEOS = frozenset({"video/mp4"})
THUMBNAIL_PIXELS = 160
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_ID = 64
SEE_EVERY_CASE = ("supervisor", "auditor")


class CasePort(Protocol):
    """The case hosts and the dispatcher, as the gateway reaches them."""

    async def ask_case(self, case_id: str, message: str, *args: Any) -> Any: ...
    async def ask_dispatcher(self, message: str, *args: Any) -> Any: ...


@dataclass(frozen=True)
class ImageUpload:
    """An upload's header, as the channel declared it."""

    case_id: str
    kind: str
    type: str
    content_type: str
    size: int
    sha256: str
    captured_by: str = ""  # the operator, device or session that captured it


@dataclass(frozen=True)
class UploadReceipt:
    image_id: str
    sha256: str
    stored_before: bool  # the same bytes were in the store already (kept once)
    update: dict[str, Any]  # the case as it is now (Case.update)
    lacking: list[str]  # what the case still lacks
    checks: list[dict[str, str]]


@dataclass(frozen=True)
class _Inspected:
    thumbnail: bytes = b""
    phash: str = ""
    captured_at: float = 0.0


def sniff(head: bytes) -> str:
    """The content type the first bytes say; empty if none of the accepted ones."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    return ""


def _exif_time(image: Image.Image) -> float:
    exif = image.getexif()
    raw = exif.get_ifd(0x8769).get(36867) or exif.get(306)  # DateTimeOriginal, DateTime
    if not isinstance(raw, str):
        return 0.0
    try:  # EXIF has no zone: the service's local time, as the capturing device's clock
        return dt.datetime.strptime(raw.strip("\0 "), "%Y:%m:%d %H:%M:%S").timestamp()
    except ValueError:
        return 0.0


def _picture(path: Path, content_type: str) -> _Inspected:
    try:
        with Image.open(path) as image:  # over twice MAX_IMAGE_PIXELS Pillow refuses itself
            if image.format != PICTURES[content_type]:
                raise InvalidRequest(f"the picture is {image.format}, not {content_type}")
            # between once and twice it only warns: refused here (a warnings filter is
            # process-wide, and pictures are checked in threads)
            if image.width * image.height > (Image.MAX_IMAGE_PIXELS or 0) > 0:
                raise InvalidRequest(f"the picture has {image.width * image.height} pixels, over "
                                     f"the decompression-bomb limit of {Image.MAX_IMAGE_PIXELS}")
            image.verify()
        with Image.open(path) as image:
            # A JPEG is decoded at down to an eighth of its size: every coded byte is still
            # read and Huffman-decoded (a truncated file fails the same), for less (10 MB of
            # noise: 0.13 s in full, 0.08 s so). The thumbnail and the phash need no more.
            image.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            image.load()  # decodes the whole file: a truncated picture fails here
            captured = _exif_time(image)
            rgb = image.convert("RGB")
    except Image.DecompressionBombError as e:
        raise InvalidRequest(f"the picture is too large to decode safely: {e}") from None
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, struct.error) as e:
        raise InvalidRequest(f"the picture is damaged or truncated: {e}") from None
    phash = str(imagehash.phash(rgb))
    rgb.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=70)
    return _Inspected(out.getvalue(), phash, captured)


def _pdf(path: Path, size: int) -> _Inspected:
    with path.open("rb") as f:
        f.seek(max(size - 1024, 0))
        if b"%%EOF" not in f.read():
            raise InvalidRequest("the PDF is truncated: no %%EOF marker at its end")
    return _Inspected()


def _mp4(path: Path, size: int) -> _Inspected:
    """The top-level boxes must tile the file exactly: a cut-off video overshoots."""
    at = 0
    with path.open("rb") as f:
        while at < size:
            f.seek(at)
            head = f.read(16)
            if len(head) < 8:
                raise InvalidRequest("the MP4 is truncated inside a box header")
            box = struct.unpack(">I", head[:4])[0]
            if box == 1 and len(head) >= 16:
                box = struct.unpack(">Q", head[8:16])[0]
            elif box == 0:
                box = size - at
            if box < 8 or at + box > size:
                raise InvalidRequest("the MP4 is truncated: a box runs past the end of the file")
            at += box
    return _Inspected()


def inspect(path: Path, content_type: str, size: int) -> _Inspected:
    """Check that the staged bytes are a whole, sound file of `content_type`."""
    with path.open("rb") as f:
        found = sniff(f.read(16))
    if found != content_type:
        raise InvalidRequest(f"the content is {found or 'of no accepted type'}, but the header "
                             f"declares {content_type}")
    if content_type in PICTURES:
        return _picture(path, content_type)
    if content_type == "application/pdf":
        return _pdf(path, size)
    return _mp4(path, size)


def image_id_for(case_id: str, kind: str, type_: str, sha256: str) -> str:
    """The same bytes uploaded again as the same kind and type to the same case are one image."""
    return "I" + hashlib.blake2b(f"{case_id}\0{kind}\0{type_}\0{sha256}".encode(),
                                 digest_size=12).hexdigest()


def _day(at: float) -> str:
    return dt.datetime.fromtimestamp(at).strftime("%Y-%m-%d")


class Evidence:
    def __init__(self, settings: EvidenceSettings, data_dir: Path, audit: AuditLog,
                 rules: Callable[[], RuleBook], blobs: BlobStore | None = None,
                 opener: Opener = sqlite) -> None:
        self.settings = settings
        self.blobs = blobs or FileBlobStore(data_dir / "images")
        self.index = ImageIndex(data_dir / "images.sqlite", opener, audit.sealer)
        self.audit = audit
        self.rules = rules  # the rule set active now: its image model names kinds and types
        self.cases: CasePort | None = None

    async def start(self, cases: CasePort) -> None:
        self.cases = cases
        await self.index.open()

    async def close(self) -> None:
        await self.index.close()

    def _port(self) -> CasePort:
        if self.cases is None:
            raise RuntimeError("evidence is not started")
        return self.cases

    # ------------------------------------------------------------------ upload

    def limit_for(self, content_type: str) -> int:
        s = self.settings
        return s.max_video_bytes if content_type in VIDEOS else s.max_image_bytes

    def check_header(self, h: ImageUpload) -> None:
        if not h.case_id or len(h.case_id) > MAX_ID:
            raise InvalidRequest("header.case_id is required (at most 64 characters)")
        kinds = self.rules().ruleset.image_kinds
        if h.kind not in kinds:
            raise InvalidRequest(f"header.kind {h.kind[:MAX_ID]!r} is not an image kind of the "
                                 f"rule set's image model ({', '.join(sorted(kinds))})")
        if h.type not in kinds[h.kind]:
            raise InvalidRequest(f"header.type {h.type[:MAX_ID]!r} is not a type of image kind "
                                 f"{h.kind} ({', '.join(sorted(kinds[h.kind]))})")
        if h.content_type not in CONTENT_TYPES:
            raise InvalidRequest(f"header.content_type {h.content_type[:MAX_ID]!r} is not one of "
                                 f"{', '.join(CONTENT_TYPES)}")
        if SHA256.fullmatch(h.sha256) is None:
            raise InvalidRequest("header.sha256 must be the upload's SHA-256 as 64 lowercase "
                                 "hexadecimal digits")
        if h.size <= 0:
            raise InvalidRequest("header.size must be the upload's size in bytes")
        limit = self.limit_for(h.content_type)
        if h.size > limit:
            raise ResourceExhausted(f"{h.size} bytes is over the limit of {limit} bytes for "
                                    f"{h.content_type}")
        if len(h.captured_by) > MAX_ID:
            raise InvalidRequest(f"header.captured_by is longer than {MAX_ID} characters")

    async def upload(self, h: ImageUpload, chunks: AsyncIterator[bytes], system: str
                     ) -> UploadReceipt:
        self.check_header(h)
        port = self._port()
        held = await self.index.case_bytes(h.case_id)
        if held + h.size > self.settings.max_case_bytes:
            raise ResourceExhausted(f"case {h.case_id} holds {held} bytes of images; {h.size} "
                                    f"more is over its limit of {self.settings.max_case_bytes}")
        # the case host's answer (whose case, still open) comes while the bytes arrive; nothing
        # is committed before it is known
        asked = asyncio.ensure_future(port.ask_case(h.case_id, "evidence_target", h.case_id,
                                                    system))
        limit = self.limit_for(h.content_type)
        writer = self.blobs.begin()
        # a chunk is written and hashed in a thread while the next one is received (hashlib and
        # file writes release the GIL; on the loop, 10 MB held it for ~10 ms)
        writing: asyncio.Future[None] | None = None
        received = 0
        try:
            try:
                async for chunk in chunks:
                    if received + len(chunk) > limit:
                        raise ResourceExhausted(f"the upload passed the limit of {limit} bytes "
                                                f"for {h.content_type}: cut off")
                    if received + len(chunk) > h.size:
                        raise InvalidRequest(f"the upload is longer than the {h.size} bytes its "
                                             "header declares")
                    received += len(chunk)
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(asyncio.to_thread(writer.write, chunk))
            finally:
                if writing is not None:  # never close the file under a write
                    await asyncio.wait([writing])
            if writing is not None:
                writing.result()
            target: dict[str, Any] = await asked
            if not target["open"]:
                raise Conflict(f"case {h.case_id} is {target['state']}: it takes no more images")
            if received < h.size:
                raise InvalidRequest(f"the upload is truncated: {received} of the {h.size} "
                                     "bytes its header declares")
            if writer.sha256() != h.sha256:
                raise InvalidRequest(f"the upload's SHA-256 is {writer.sha256()}, the header "
                                     f"declares {h.sha256}")
            writer.finish()
            # the file's fsync runs beside Pillow's decode; the rename waits for both
            done = await asyncio.gather(
                asyncio.to_thread(inspect, writer.staged, h.content_type, h.size),
                writer.sync(), return_exceptions=True)
            for outcome in done:
                if isinstance(outcome, BaseException):
                    raise outcome
            inspected = done[0]
            assert isinstance(inspected, _Inspected)
            fresh = await writer.commit()
        except BaseException:
            if not asked.done():
                asked.cancel()
            await asyncio.wait([asked])
            writer.abort()
            refused = None if asked.cancelled() else asked.exception()
            if refused is not None:  # whose case it is, or that it is gone, comes first
                raise refused from None
            raise
        image = StoredImage(
            image_id=image_id_for(h.case_id, h.kind, h.type, h.sha256), case_id=h.case_id,
            customer_id=target["customer_id"], scene=target["scene"],
            business_type=target["business_type"], kind=h.kind, type=h.type, sha256=h.sha256,
            size=h.size, content_type=h.content_type, uploaded_by=system,
            captured_by=h.captured_by, uploaded_at=time.time(),
            captured_at=inspected.captured_at, round=target["round"], phash=inspected.phash,
            thumbnail=inspected.thumbnail)
        image = replace(image, checks=await self._checks(image, target))
        if not await self.index.add(image):
            stored = await self.index.get(image.image_id)
            assert stored is not None
            image = stored  # uploaded before: the case keeps the first record of it
        self.audit.record("image-uploaded", system, "ok",
                          f"{image.image_id} case {h.case_id} {h.kind}/{h.type} {h.sha256}")
        added: dict[str, Any] = await port.ask_case(h.case_id, "add_image", h.case_id,
                                                    image.item(), system,
                                                    self._reassess(target, image))
        return UploadReceipt(image.image_id, h.sha256, not fresh, added["update"],
                             added["lacking"], image.checks)

    async def _checks(self, image: StoredImage, target: dict[str, Any]) -> list[dict[str, str]]:
        """What the seat is warned of: the same picture in another customer's case, and a
        capture time long before the case."""
        checks = []
        for other in (await self.index.used_elsewhere(image.sha256, image.phash,
                                                    image.customer_id))[:1]:
            how = "this image" if other.sha256 == image.sha256 else "a near-identical picture"
            checks.append({"check": "reused", "message":
                           f"{how} was submitted for customer {other.customer_id} on "
                           f"{_day(other.uploaded_at)} (case {other.case_id})"})
        limit = self.settings.stale_after_seconds
        if image.captured_at and limit and target["created_at"] - image.captured_at > limit:
            days = (target["created_at"] - image.captured_at) / 86400
            checks.append({"check": "stale", "message":
                           f"captured on {_day(image.captured_at)}, {days:.0f} days before the "
                           "case"})
        return checks

    def _reassess(self, target: dict[str, Any], image: StoredImage) -> dict[str, Any] | None:
        """The rules again, on the case's facts and the evidence facts, once a check found
        something: {level, reject} if they ask for more than the case has; else None."""
        flags = set(target["flags"]) | {c["check"] for c in image.checks}
        if target["facts"] is None or not flags & {"reused", "stale"}:
            return None
        book = self.rules()
        decision = book.evaluate({**target["facts"], "evidence.reused": "reused" in flags,
                                  "evidence.stale": "stale" in flags})
        if decision.outcome is Outcome.REJECT:  # the reasons of the rules the evidence fired
            return {"reject": "; ".join(f.reason for f in decision.fired
                                        if f.id not in target["fired"]) or "rejected by rule"}
        if decision.level > target["level"]:
            return {"level": decision.level}
        return None

    # ------------------------------------------------------------------ seats

    async def with_thumbnails(self, details: dict[str, Any]) -> dict[str, Any]:
        """A case's details for a seat, each image's thumbnail bytes in (the case keeps only
        whether it has one)."""
        items = details.get("evidence") or []
        if not items:
            return details
        thumbs = await self.index.thumbnails([i["image_id"] for i in items if i.get("thumbnail")])
        return {**details, "evidence": [{**i, "thumbnail": thumbs.get(i["image_id"], b"")}
                                        for i in items]}

    async def read_image(self, image_id: str, operator: Operator
                         ) -> tuple[StoredImage, Iterator[bytes]]:
        """The original, to an operator allowed to see it now; audited either way."""
        image = await self.index.get(image_id[:MAX_ID])
        if image is None:
            self.audit.record("image-read", operator.operator_id, "not-found", image_id[:MAX_ID])
            raise NotFound(f"no image {image_id[:MAX_ID]}")
        why = await self._why_not(image, operator)
        detail = f"{image.image_id} case {image.case_id}"
        if why:
            self.audit.record("image-read", operator.operator_id, "denied", f"{detail}: {why}")
            raise PermissionDenied(f"image {image.image_id}: {why}")
        self.audit.record("image-read", operator.operator_id, "ok", detail)
        return image, read_chunks(self.blobs, image.sha256)

    async def _why_not(self, image: StoredImage, operator: Operator) -> str:
        if any(role in operator.roles for role in SEE_EVERY_CASE):
            return ""
        if "authorizer" not in operator.roles:
            return "only authorizers, supervisors and auditors see images"
        holder: dict[str, str] = await self._port().ask_dispatcher("holder_of", image.case_id)
        if holder.get("operator_id") != operator.operator_id:
            return "its case is not offered to or in review at a seat of yours"
        return ""
