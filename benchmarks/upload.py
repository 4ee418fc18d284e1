"""(h) evidence: image upload throughput and request → offer with images.

- Upload MB/s of 1 MB and 10 MB JPEGs over gRPC (TLS, the teller system's token), one upload
  at a time, each stored (sniffed, decoded whole by Pillow, thumbnail and perceptual hash,
  fsync, rename, index commit, added to its case), against writing the same bytes to a file
  with fsync in the same run, on the same disk.
- Request → offer at 20 cases/s for cases that need three 1 MB images (the channel uploads
  them right after Authorize; the gate queues the case on the last), against cases of the same
  run that need no image (operator-limit scene), with 20 seats approving at once.

The client runs in a child process (spawned), as in the other case benchmarks.

    .venv/bin/python -m foureyes.benchmarks.upload [--uploads N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from foureyes.benchmarks.load import Access, enrol
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.app import Service
from foureyes.service.client import image_chunks
from foureyes.service.settings import Settings
from PIL import Image

MB = 1024 * 1024
SEATS = 20
_OPTIONS = [("grpc.max_send_message_length", 8 * MB)]


def jpeg_of(size: int, seed: int = 0) -> bytes:
    """A real JPEG of noise of about `size` bytes."""
    side = int((size / 1.9) ** 0.5)  # noise at quality 90: about 1.9 bytes a pixel
    rng = random.Random(seed)
    while True:
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90)
        data = out.getvalue()
        if abs(len(data) - size) < size * 0.05:
            return data
        side = int(side * (size / len(data)) ** 0.5)


def distinct(base: bytes, i: int) -> bytes:
    """Other bytes, the same picture: data after the JPEG's end marker, which decoders skip."""
    return base + i.to_bytes(8, "big")


def fsync_baseline(directory: Path, images: list[bytes]) -> float:
    """MB/s writing each image to its own file with fsync."""
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for i, data in enumerate(images):
        with open(directory / f"f{i}", "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return sum(map(len, images)) / MB / (time.perf_counter() - started)


def withdrawal(key: str, customer: str) -> pb.TellerRequest:
    return pb.TellerRequest(operator_id="teller-bench", outlet_id="0101", transaction=pb.Transaction(
        code="CASH_WITHDRAWAL", amount="60000", currency="CNY", customer_id=customer,
        idempotency_key=key))


def no_images(key: str) -> pb.TellerRequest:
    return pb.TellerRequest(operator_id="teller-bench", outlet_id="0101", transaction=pb.Transaction(
        code="FX_SPOT", trigger_codes=["OVER_OPERATOR_LIMIT"], idempotency_key=key))


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0


async def _uploads(address: str, access: Access, batch: list[bytes], concurrency: int) -> float:
    """MB/s uploading `batch`, `concurrency` uploads at a time."""
    async with grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(access.ca),
                                       options=_OPTIONS) as channel:
        teller = pbg.TellerChannelStub(channel)

        async def uploader(share: list[bytes]) -> None:
            case_id = ""
            for i, data in enumerate(share):
                if i % 8 == 0:  # a fresh case now and then: each has a limit of its own
                    case_id = (await teller.Authorize(withdrawal(f"up-{i}-{time.time_ns()}",
                                                                 "cust-up"),
                                                      metadata=access.metadata)).case_id
                await teller.UploadImage(image_chunks(case_id, "other", "police_report",
                                                      "image/jpeg", data, chunk_size=MB),
                                         metadata=access.metadata)

        started = time.perf_counter()
        await asyncio.gather(*(uploader(batch[k::concurrency]) for k in range(concurrency)))
        return sum(map(len, batch)) / MB / (time.perf_counter() - started)


async def _offers(address: str, access: Access, rate: float, seconds: float, image: bytes
                  ) -> dict[str, Any]:
    async with grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(access.ca),
                                       options=_OPTIONS) as channel:
        teller = pbg.TellerChannelStub(channel)
        seats = [await access.seat(channel, f"bench-up-{i}", f"bench-up-{i}").connect()
                 for i in range(SEATS)]
        started: dict[str, tuple[float, bool]] = {}
        offered_at: dict[str, float] = {}  # an offer may come before Authorize's answer
        failed: list[str] = []

        async def serve(seat: Any) -> None:
            while True:
                try:
                    event = await seat.next(timeout=60)
                except (EOFError, TimeoutError):
                    return
                if event.WhichOneof("body") == "offer":
                    case_id = event.offer.case.case_id
                    offered_at.setdefault(case_id, time.perf_counter())
                    seat.accept(case_id)
                elif event.WhichOneof("body") == "assigned":
                    case = event.assigned.case
                    seat.decide(case.case_id, case.version, pb.APPROVE)

        async def one(i: int) -> None:
            key = f"off-{time.time_ns()}-{i}"
            begun = time.perf_counter()
            try:
                if i % 2:
                    d = await teller.Authorize(no_images(key), metadata=access.metadata)
                    started[d.case_id] = (begun, False)
                    return
                d = await teller.Authorize(withdrawal(key, f"cust-{i}"), metadata=access.metadata)
                started[d.case_id] = (begun, True)
                await asyncio.gather(*(
                    teller.UploadImage(image_chunks(d.case_id, kind, typ, "image/jpeg",
                                                    distinct(image, i * 3 + n), chunk_size=MB),
                                       metadata=access.metadata)
                    for n, (kind, typ) in enumerate((("other", "police_report"),
                                                     ("id_document", "id_card_front"),
                                                     ("cash_voucher", "withdrawal_slip")))))
            except grpc.aio.AioRpcError as e:
                failed.append(e.code().name)

        servers = [asyncio.create_task(serve(s)) for s in seats]
        tasks = []
        t0 = time.perf_counter()
        i = 0
        while time.perf_counter() - t0 < seconds:
            tasks.append(asyncio.create_task(one(i)))
            i += 1
            await asyncio.sleep(max(t0 + i / rate - time.perf_counter(), 0))
        await asyncio.gather(*tasks)
        for _ in range(300):  # the last offers, for at most 30 s
            if len(offered_at) >= len(started):
                break
            await asyncio.sleep(0.1)
        offered: dict[str, list[float]] = {"images": [], "none": []}
        for case_id, (begun, needs) in started.items():
            if case_id in offered_at:
                offered["images" if needs else "none"].append(offered_at[case_id] - begun)
        for s in seats:
            await s.close()
        for t in servers:
            t.cancel()
        return {"sent": i, "failed": failed,
                **{f"{k}_{q}": _p(v, n) for k, v in offered.items()
                   for q, n in (("p50", 50), ("p99", 99))},
                **{f"{k}_n": len(v) for k, v in offered.items()}}


def child(kind: str, *args: Any) -> dict[str, Any]:
    fn = _uploads if kind == "uploads" else _offers
    return asyncio.run(fn(*args))  # type: ignore[operator]


async def main(uploads: int, seconds: float) -> None:
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    with tempfile.TemporaryDirectory(dir=".") as tmp:  # the service's disk, not a tmpfs
        service = Service(Settings(grpc_port=0, metrics_port=0, feed_port=0, console_port=0,
                                   data_dir=Path(tmp) / "data"))  # keys beside it, inside tmp
        await service.start()
        passwords = enrol(service, (("bench-up", SEATS),))
        access = Access(service.credentials.tls.ca_bytes(), service.credentials.new_tokens["teller"],
                        passwords)
        loop = asyncio.get_running_loop()
        try:
            print(f"(h) evidence: {uploads} uploads of each size")
            one, ten = jpeg_of(MB, 1), jpeg_of(10 * MB, 2)
            for label, base_image in (("1 MB", one), ("10 MB", ten)):
                for concurrency in (1, 4):
                    batch = [distinct(base_image, concurrency * 1000 + i) for i in range(uploads)]
                    base = fsync_baseline(Path(tmp) / "baseline" / f"{label}-{concurrency}"
                                          .replace(" ", ""), batch)
                    got = await loop.run_in_executor(pool, child, "uploads", service.grpc_address,
                                                     access, batch, concurrency)
                    print(f"  {label:>5} images: write + fsync {base:7.1f} MB/s (baseline)   "
                          f"UploadImage, {concurrency} at a time {got:7.1f} MB/s  {got / base:5.0%}")
            r = await loop.run_in_executor(pool, child, "offers", service.grpc_address, access,
                                           20.0, seconds, one)
            print(f"  request → offer at 20 cases/s for {seconds:.0f} s ({r['sent']} cases, half "
                  f"with three 1 MB images), {SEATS} seats approving at once:")
            print(f"    no images (baseline): {r['none_n']:4d} offers  p50 {r['none_p50']:7.1f} ms"
                  f"  p99 {r['none_p99']:7.1f} ms")
            print(f"    three 1 MB images:    {r['images_n']:4d} offers  p50 "
                  f"{r['images_p50']:7.1f} ms  p99 {r['images_p99']:7.1f} ms"
                  + (f"   failed: {r['failed']}" if r["failed"] else ""))
        finally:
            await service.stop()
    pool.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=20, help="uploads of each size")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the offer run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.uploads, args.seconds))
