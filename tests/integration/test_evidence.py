"""Evidence for real: uploads over gRPC into the content-addressed store, the gate before the
queue, seats seeing and fetching the images, the evidence checks, a restart, the export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import shutil
import time
import zipfile

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.rules.book import DEFAULT_RULES
from foureyes.service import images_cli
from foureyes.service.client import image_chunks, session
from PIL import Image

from tests.integration.conftest import operator_session, running, seat_of

pytestmark = pytest.mark.integration

ID_FRONT = ("id_document", "id_card_front")
PASSPORT = ("id_document", "passport")
SLIP = ("cash_voucher", "withdrawal_slip")


def picture(seed: int, fmt: str = "JPEG", size=(96, 64), taken: str = "") -> bytes:
    """A real picture of noise (each seed its own perceptual hash), optionally with an EXIF
    capture time ("YYYY:MM:DD HH:MM:SS")."""
    w, h = size
    image = Image.frombytes("RGB", size, random.Random(seed).randbytes(w * h * 3))
    out = io.BytesIO()
    if taken:
        exif = Image.Exif()
        exif[306] = taken
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


def withdrawal(key: str, customer: str = "cust-e1", amount: str = "60000") -> pb.TellerRequest:
    return pb.TellerRequest(operator_id="teller-1", outlet_id="0101", terminal_id="T1",
                            transaction=pb.Transaction(code="CASH_WITHDRAWAL", amount=amount,
                                                       currency="CNY", customer_id=customer,
                                                       idempotency_key=key))


async def upload(channel, case_id: str, what: tuple[str, str], data: bytes,
                 content_type: str = "image/jpeg", **kw) -> pb.UploadImageResponse:
    return await pbg.TellerChannelStub(channel).UploadImage(
        image_chunks(case_id, what[0], what[1], content_type, data, captured_by="teller-1", **kw))


async def fetch(channel, credentials, image_id: str) -> tuple[pb.CaseImage, bytes]:
    info, data = None, b""
    async for m in pbg.ImageServiceStub(channel).GetImage(pb.GetImageRequest(image_id=image_id),
                                                          credentials=credentials):
        if m.HasField("info"):
            info = m.info
        data += m.data
    return info, data


async def stored(svc) -> tuple[list, list]:
    """What the store holds: the blobs, and the index rows."""
    blobs = svc.gateway.evidence.blobs
    return list(blobs.blobs()), await svc.gateway.evidence.index.select()


async def first_update(channel, case_id: str) -> pb.CaseUpdate:
    call = pbg.TellerChannelStub(channel).WatchCase(pb.WatchCaseRequest(case_id=case_id))
    update = await call.read()
    call.cancel()
    return update


async def test_a_case_requiring_images_waits_for_them_then_is_offered_with_them(start_service):
    async with running(start_service, evidence_gate=True) as (svc, channel):
        seat = await seat_of(svc, channel, "seat-ev", "auth-ev", 2, ["cash"]).connect()
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("ev-1"))
        assert d.outcome == pb.REQUIRED
        waiting = await first_update(channel, d.case_id)
        assert waiting.state == pb.AWAITING_EVIDENCE
        assert waiting.missing == ["one of: id_document/id_card_front, id_document/passport",
                                   "cash_voucher/withdrawal_slip"]
        front = picture(1)
        got = await upload(channel, d.case_id, ID_FRONT, front)
        assert got.case.state == pb.AWAITING_EVIDENCE
        assert list(got.lacking) == ["cash_voucher/withdrawal_slip"]
        assert (await first_update(channel, d.case_id)).missing == ["cash_voucher/withdrawal_slip"]
        assert got.sha256 == hashlib.sha256(front).hexdigest() and not got.stored_before
        assert len(await svc.gateway.evidence.index.select(case_id=d.case_id)) == 1
        desk = await svc.gateway.case_hosts[0].dispatch_stats.remote()
        assert (desk["queued"], desk["offered"]) == (0, 0)  # out of the queue, not offered
        slip = picture(2, "PNG")
        last = await upload(channel, d.case_id, SLIP, slip, content_type="image/png")
        assert last.case.state == pb.QUEUED and not last.lacking
        offer = (await seat.next_of("offer")).offer.case
        assert offer.case_id == d.case_id
        assert [(i.kind, i.type, i.content_type, i.size) for i in offer.evidence] == [
            (*ID_FRONT, "image/jpeg", len(front)), (*SLIP, "image/png", len(slip))]
        assert all(i.thumbnail.startswith(b"\xff\xd8") for i in offer.evidence)
        assert not offer.evidence_checks

        # the seat it is offered to fetches the original, byte for byte; another may not
        started = time.time()
        mine = session(seat.token)
        info, data = await fetch(channel, mine, offer.evidence[0].image_id)
        assert data == front and info.sha256 == hashlib.sha256(front).hexdigest()
        other = await operator_session(svc, channel, "auth-not-offered", "authorizer")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await fetch(channel, other, offer.evidence[1].image_id)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        seat.accept(d.case_id)
        assigned = (await seat.next_of("assigned")).assigned.case
        assert len(assigned.evidence) == 2 and assigned.evidence[1].thumbnail
        assert (await fetch(channel, mine, assigned.evidence[1].image_id))[1] == slip
        seat.decide(d.case_id, assigned.version, pb.APPROVE)
        assert (await seat.next_of("decided")).decided.state == pb.APPROVED
        with pytest.raises(grpc.aio.AioRpcError) as e:  # decided: not at the seat any more
            await fetch(channel, mine, assigned.evidence[0].image_id)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        auditor = await operator_session(svc, channel, "auditor-ev", "auditor")
        assert (await fetch(channel, auditor, assigned.evidence[0].image_id))[1] == front
        reads = [(a["actor"], a["outcome"]) for a in await svc.gateway.audit.since(started)
                 if a["event"] == "image-read"]
        assert reads == [("auth-ev", "ok"), ("auth-not-offered", "denied"), ("auth-ev", "ok"),
                         ("auth-ev", "denied"), ("auditor-ev", "ok")]
        await seat.close()


async def test_refused_uploads_say_why_and_store_nothing(start_service):
    async with running(start_service, evidence_gate=True, max_image_mb=0.1) as (svc, channel):
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("ev-bad"))
        jpeg, png = picture(3), picture(4, "PNG")
        limit = int(0.1 * 1024 * 1024)
        big = picture(5, size=(600, 600))  # noise compresses badly: well over 100 KB
        assert len(big) > limit
        cut = jpeg[: len(jpeg) // 2]
        cases = [  # (what, data, upload options, status, words in the message)
            ("wrong type", png, {}, grpc.StatusCode.INVALID_ARGUMENT, "declares image/jpeg"),
            ("truncated upload", jpeg, {"size": len(jpeg) + 10}, grpc.StatusCode.INVALID_ARGUMENT,
             "truncated"),
            ("truncated picture", cut, {}, grpc.StatusCode.INVALID_ARGUMENT, "truncated"),
            ("bad hash", jpeg, {"sha256": "0" * 64}, grpc.StatusCode.INVALID_ARGUMENT, "SHA-256"),
            ("declared too big", big, {}, grpc.StatusCode.RESOURCE_EXHAUSTED, "limit"),
            ("more than the limit sent", big, {"size": limit},
             grpc.StatusCode.RESOURCE_EXHAUSTED, "cut off"),
        ]
        for what, data, options, code, words in cases:
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await upload(channel, d.case_id, ID_FRONT, data, **options)
            assert (e.value.code(), words in e.value.details()) == (code, True), (what, e.value.details())
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await upload(channel, d.case_id, ("selfie", "any"), jpeg)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not an image kind" in e.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await upload(channel, d.case_id, ("id_document", "diploma"), jpeg)
        assert "not a type of image kind id_document" in e.value.details()
        # a case another channel system created
        kiosk = await pbg.SelfServiceChannelStub(channel).Authorize(pb.SelfServiceRequest(
            device_id="K1", outlet_id="0101", transaction=pb.Transaction(
                code="CASH_WITHDRAWAL", amount="60000", customer_id="cust-k",
                idempotency_key="ev-kiosk")))
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await upload(channel, kiosk.case_id, ID_FRONT, jpeg)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert await stored(svc) == ([], [])
        assert not list(svc.gateway.evidence.blobs.staging.iterdir())
        assert (await first_update(channel, d.case_id)).state == pb.AWAITING_EVIDENCE


async def test_return_for_supplement_then_upload_reoffers_with_old_and_new_images(start_service):
    async with running(start_service, evidence_gate=True) as (svc, channel):
        seat = await seat_of(svc, channel, "seat-rs", "auth-rs", 2, ["cash"]).connect()
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("ev-ret"))
        await upload(channel, d.case_id, ID_FRONT, picture(10))
        await upload(channel, d.case_id, SLIP, picture(11))
        first = (await seat.next_of("offer")).offer.case
        seat.accept(d.case_id)
        case = (await seat.next_of("assigned")).assigned.case
        seat.decide(d.case_id, case.version, pb.RETURN, reason_code="ID_UNREADABLE",
                    missing=["id_document/passport"])
        returned = (await seat.next_of("decided")).decided
        assert returned.state == pb.RETURNED and list(returned.missing) == ["id_document/passport"]
        got = await upload(channel, d.case_id, PASSPORT, picture(12))
        assert got.case.state == pb.RETURNED and not got.lacking
        await pbg.TellerChannelStub(channel).SupplementCase(pb.SupplementCaseRequest(
            case_id=d.case_id, supplied=["id_document/passport"]))
        again = (await seat.next_of("offer")).offer.case
        assert [i.image_id for i in again.evidence][:2] == [i.image_id for i in first.evidence]
        assert [(i.kind, i.type, i.round) for i in again.evidence] == [
            (*ID_FRONT, 0), (*SLIP, 0), (*PASSPORT, 1)]
        assert len(await svc.gateway.evidence.index.select(case_id=d.case_id)) == 3
        await seat.close()


async def test_an_image_reused_for_another_customer_is_flagged_on_the_second_offer(start_service):
    async with running(start_service, evidence_gate=True) as (svc, channel):
        seat = await seat_of(svc, channel, "seat-ru", "auth-ru", 2, ["cash"]).connect()
        photo = picture(20)
        teller = pbg.TellerChannelStub(channel)
        one = await teller.Authorize(withdrawal("ev-r1", customer="cust-42"))
        await upload(channel, one.case_id, ID_FRONT, photo)
        await upload(channel, one.case_id, SLIP, picture(21))
        offer = (await seat.next_of("offer")).offer.case
        assert offer.case_id == one.case_id and not offer.evidence_checks
        seat.accept(one.case_id)
        first = (await seat.next_of("assigned")).assigned.case
        seat.decide(one.case_id, first.version, pb.APPROVE)
        await seat.next_of("decided")
        seat.set_presence(pb.AWAY)
        await seat.next_of("presence")
        two = await teller.Authorize(withdrawal("ev-r2", customer="cust-77"))
        reused = await upload(channel, two.case_id, ID_FRONT, photo)
        assert reused.stored_before and [c.check for c in reused.checks] == ["reused"]
        # the same slip re-encoded: other bytes, a near-identical picture
        slip = Image.open(io.BytesIO(picture(21)))
        again = io.BytesIO()
        slip.save(again, "PNG")
        near = await upload(channel, two.case_id, SLIP, again.getvalue(), content_type="image/png")
        assert not near.stored_before and [c.check for c in near.checks] == ["reused"]
        assert "near-identical" in near.checks[0].message
        seat.set_presence(pb.AVAILABLE)
        second = await seat.next_of("offer")
        assert second.offer.case.case_id == two.case_id
        checks = second.offer.case.evidence_checks
        assert [c.check for c in checks] == ["reused", "reused"]
        day = time.strftime("%Y-%m-%d")
        assert checks[0].message == (f"this image was submitted for customer cust-42 on {day} "
                                     f"(case {one.case_id})")
        # one blob for the photo used twice: the store keeps the same bytes once
        blobs, rows = await stored(svc)
        assert len(rows) == 4 and len(blobs) == 3
        await seat.close()


async def test_a_stale_picture_is_flagged(start_service):
    async with running(start_service, evidence_gate=True) as (_, channel):
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("ev-old"))
        old = await upload(channel, d.case_id, ID_FRONT, picture(30, taken="2020:01:02 10:00:00"))
        fresh = await upload(channel, d.case_id, SLIP,
                             picture(31, taken=time.strftime("%Y:%m:%d %H:%M:%S")))
        assert [c.check for c in old.checks] == ["stale"] and "2020-01-02" in old.checks[0].message
        assert not fresh.checks


async def test_a_restart_keeps_every_image_and_the_gate_state(start_service, tmp_path):
    data = tmp_path / "evidence-restart"
    front = picture(40)
    async with running(start_service, data_dir=data, evidence_gate=True) as (svc, channel):
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("ev-restart"))
        first = await upload(channel, d.case_id, ID_FRONT, front)
    async with running(start_service, data_dir=data, evidence_gate=True) as (svc, channel):
        waiting = await first_update(channel, d.case_id)
        assert waiting.state == pb.AWAITING_EVIDENCE
        assert list(waiting.missing) == ["cash_voucher/withdrawal_slip"]
        supervisor = await operator_session(svc, channel, "super-ev", "supervisor")
        assert (await fetch(channel, supervisor, first.image_id))[1] == front
        seat = await seat_of(svc, channel, "seat-rr", "auth-rr", 2, ["cash"]).connect()
        assert (await upload(channel, d.case_id, SLIP, picture(41))).case.state == pb.QUEUED
        offer = (await seat.next_of("offer")).offer.case
        assert offer.evidence[0].image_id == first.image_id
        assert len(offer.evidence) == 2
        await seat.close()


async def test_export_writes_a_zip_whose_manifest_hashes_match_the_files(start_service, tmp_path):
    async with running(start_service, evidence_gate=True) as (svc, channel):
        seat = await seat_of(svc, channel, "seat-x", "auth-x", 2, ["cash"]).connect()
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("ev-x", customer="cust-x"))
        await upload(channel, d.case_id, PASSPORT, picture(50))
        await upload(channel, d.case_id, SLIP, picture(51, "PNG"), content_type="image/png")
        case = (await seat.next_of("offer")).offer.case
        seat.accept(case.case_id)
        case = (await seat.next_of("assigned")).assigned.case
        seat.decide(case.case_id, case.version, pb.APPROVE)
        await seat.next_of("decided")
        await seat.close()
        data_dir = svc.settings.data_dir
    for selection in (["--customer", "cust-x"], ["--case", d.case_id],
                      ["--since", time.strftime("%Y-%m-%d")]):
        out = tmp_path / "export.zip"
        assert images_cli.main(["--data-dir", str(data_dir), *selection, "--out", str(out)]) == 0
        with zipfile.ZipFile(out) as z:
            manifest = json.loads(z.read("manifest.json"))
            rows = list(csv.DictReader(io.StringIO(z.read("manifest.csv").decode())))
            assert len(manifest) == len(rows) == 2
            for entry, row in zip(manifest, rows, strict=True):
                assert hashlib.sha256(z.read(entry["file"])).hexdigest() == entry["sha256"]
                assert row["sha256"] == entry["sha256"] and row["file"] == entry["file"]
                assert (entry["case_id"], entry["decision"], entry["authorizer"]) == (
                    d.case_id, "APPROVED", "auth-x")
            assert {(e["kind"], e["type"]) for e in manifest} == {PASSPORT, SLIP}


def evidence_rules(tmp_path):
    """The bundled rules and two on the evidence facts: a stale picture needs level 2, a reused
    one is refused."""
    target = tmp_path / "evidence-rules"
    shutil.copytree(DEFAULT_RULES, target)
    triggers = target / "triggers.yaml"
    triggers.write_text(triggers.read_text().replace("\n# Cash over the counter by amount", '''
  - id: evidence-reused
    description: An image of this case was submitted for another customer
    when: {evidence.reused: true}
    outcome: reject
    reason: an image was already used for another customer

  - id: evidence-stale
    description: A picture was taken long before the case
    when: {evidence.stale: true, transaction.code: CASH_WITHDRAWAL}
    outcome: remote
    level: 2
    scene: cash-withdrawal
    reason: a stale picture needs a senior authorizer

# Cash over the counter by amount''', 1))
    (target / "triggers_test.yaml").unlink()  # they pin the bundled rules' answers
    return target


async def test_rules_on_the_evidence_facts_raise_the_level_or_reject(start_service, tmp_path):
    async with running(start_service, evidence_gate=True,
                       rules=evidence_rules(tmp_path)) as (svc, channel):
        junior = await seat_of(svc, channel, "seat-j", "auth-j", 1, ["cash"]).connect()
        teller = pbg.TellerChannelStub(channel)
        stale = await teller.Authorize(withdrawal("ev-f1", customer="cust-f1"))
        assert stale.authority_level == 1
        await upload(channel, stale.case_id, ID_FRONT, picture(60, taken="2019:05:01 09:00:00"))
        got = await upload(channel, stale.case_id, SLIP, picture(61))
        assert got.case.state == pb.QUEUED
        senior = await seat_of(svc, channel, "seat-s", "auth-s", 2, ["cash"]).connect()
        offer = (await senior.next_of("offer")).offer.case
        # the junior seat was free when the case was queued: only the raised level kept it away
        assert offer.case_id == stale.case_id and offer.authority_level == 2
        reused = await teller.Authorize(withdrawal("ev-f2", customer="cust-f2"))
        refused = await upload(channel, reused.case_id, ID_FRONT, picture(60, taken=""))
        assert refused.case.state == pb.REJECTED and refused.case.final
        assert refused.case.reason_code == "EVIDENCE"
        assert refused.case.reason_text == "an image was already used for another customer"
        await junior.close()
        await senior.close()
