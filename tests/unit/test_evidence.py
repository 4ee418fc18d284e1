"""The requirement tree, the case's gate and the content-addressed store, without Ray."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest
from foureyes.actors.case import Case, CaseSpec, CaseState, Verdict
from foureyes.errors import Conflict
from foureyes.rules.evidence import answers, lacking, satisfied
from foureyes.store.images import FileBlobStore

WITHDRAWAL = {"all_of": [{"any_of": [{"kind": "id_document", "type": "id_card_front"},
                                     {"kind": "id_document", "type": "passport"}]},
                         {"kind": "cash_voucher", "type": "withdrawal_slip"}]}


def test_the_tree_says_what_is_lacking():
    assert lacking(WITHDRAWAL, []) == [
        "one of: id_document/id_card_front, id_document/passport", "cash_voucher/withdrawal_slip"]
    assert lacking(WITHDRAWAL, [("id_document", "passport")]) == ["cash_voucher/withdrawal_slip"]
    assert satisfied(WITHDRAWAL, [("id_document", "passport"), ("cash_voucher", "withdrawal_slip")])
    two = {"at_least": 2, "of": [{"kind": "a"}, {"kind": "b", "type": "x"}, {"kind": "c"}]}
    assert lacking(two, [("b", "y")]) == ["2 more of: a, b/x, c"]
    assert lacking(two, [("c", "z")]) == ["one of: a, b/x"]
    assert lacking(two, [("a", ""), ("c", "z")]) == []
    assert satisfied(None, [])
    assert answers("id_document/passport", "id_document", "passport")
    assert answers("id_document", "id_document", "passport")
    assert not answers("a clearer copy", "id_document", "passport")


def spec(gate: bool = True) -> CaseSpec:
    return CaseSpec(
        case_id="C1", fingerprint="f", channel="teller", initiator="teller-1", outlet="0101",
        customer_id="cust-1", transaction_code="CASH_WITHDRAWAL", amount="60000", currency="CNY",
        account_masked="", mode="remote", level=1, approvers=1, priority=0, sla_seconds=300,
        category="cash", scene={"id": "cash-withdrawal"}, images=WITHDRAWAL, fired=[],
        rules_version="v", created_at=time.time(), evidence_gate=gate)


def image(image_id: str, kind: str, type_: str, round_: int = 0, by: str = "teller-1") -> dict:
    return {"image_id": image_id, "kind": kind, "type": type_, "sha256": image_id * 4,
            "round": round_, "captured_by": by, "checks": []}


def test_a_gated_case_waits_for_its_images_then_is_queued_and_keeps_them():
    case = Case(spec())
    assert case.create()["state"] == "AWAITING_EVIDENCE"
    assert case.update()["missing"] == lacking(WITHDRAWAL, [])
    assert case.add_image(image("i1", "id_document", "passport"))["state"] == "AWAITING_EVIDENCE"
    assert case.add_image(image("i1", "id_document", "passport")) is None  # the same again
    event = case.add_image(image("i2", "cash_voucher", "withdrawal_slip"))
    assert event["state"] == "QUEUED" and event["data"]["missing"] == []
    again = Case.from_doc(case.to_doc())
    assert [i["image_id"] for i in again.details()["evidence"]] == ["i1", "i2"]
    assert not again.details()["evidence_checks"]


def test_a_case_without_the_gate_is_queued_at_once():
    assert Case(spec(gate=False)).create()["state"] == "QUEUED"


def test_after_a_return_the_named_images_are_lacking_until_uploaded():
    case = Case(spec())
    case.create()
    case.add_image(image("i1", "id_document", "id_card_front"))
    case.add_image(image("i2", "cash_voucher", "withdrawal_slip"))
    case.offer("s1")
    case.begin_review("s1", "auth-1")
    case.decide("s1", case.version, Verdict.RETURN, "ID", missing=["id_document/passport",
                                                                    "a signature"])
    assert case.lacking() == ["id_document/passport"]
    case.add_image(image("i3", "id_document", "passport", round_=case.returns))
    assert case.lacking() == [] and case.state is CaseState.RETURNED
    case.supplement(["id_document/passport"])
    assert [i["round"] for i in case.details()["evidence"]] == [0, 0, 1]
    case.cancel("done")
    with pytest.raises(Conflict):
        case.add_image(image("i4", "other", "police_report"))


def test_images_all_captured_by_someone_else_are_flagged():
    case = Case(spec())
    case.create()
    case.add_image(image("i1", "id_document", "passport", by="device:K9"))
    checks = case.details()["evidence_checks"]
    assert [c["check"] for c in checks] == ["uploader"] and "device:K9" in checks[0]["message"]


def test_the_store_keeps_the_same_bytes_once_under_their_hash(tmp_path):
    store = FileBlobStore(tmp_path / "images")

    async def put(data: bytes) -> bool:
        writer = store.begin()
        writer.write(data[:3])
        writer.write(data[3:])
        assert writer.sha256() == hashlib.sha256(data).hexdigest()
        return await writer.commit()

    assert asyncio.run(put(b"evidence")) is True
    assert asyncio.run(put(b"evidence")) is False
    sha = hashlib.sha256(b"evidence").hexdigest()
    assert [p.relative_to(store.root).as_posix() for p in store.blobs()] == [
        f"{sha[:2]}/{sha[2:4]}/{sha}"]
    assert store.open(sha).read() == b"evidence"
    assert not list(store.staging.iterdir())
    aborted = store.begin()
    aborted.write(b"half")
    aborted.abort()
    assert not list(store.staging.iterdir())


def _jpeg(size=(96, 64)) -> bytes:
    import io
    import random

    from PIL import Image

    w, h = size
    out = io.BytesIO()
    Image.frombytes("RGB", size, random.Random(7).randbytes(w * h * 3)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_inspection_refuses_what_is_not_a_whole_file_of_its_type(tmp_path, monkeypatch):
    from foureyes.errors import InvalidRequest
    from foureyes.gateway.evidence import inspect
    from PIL import Image

    def check(data: bytes, content_type: str):
        path = tmp_path / "f"
        path.write_bytes(data)
        return inspect(path, content_type, len(data))

    jpeg = _jpeg()
    assert check(jpeg, "image/jpeg").thumbnail.startswith(b"\xff\xd8")
    refusals = [
        (jpeg, "image/png", "declares image/png"),
        (jpeg[:-200], "image/jpeg", "truncated"),
        (b"%PDF-1.7\n1 0 obj\n", "application/pdf", "no %%EOF"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x10\x00mdat",
         "video/mp4", "runs past the end"),
    ]
    for data, content_type, words in refusals:
        with pytest.raises(InvalidRequest, match=words):
            check(data, content_type)
    assert check(b"%PDF-1.7\n%%EOF\n", "application/pdf").thumbnail == b""
    assert check(b"\x00\x00\x00\x10ftypisom\x00\x00\x02\x00", "video/mp4").phash == ""
    # 96 x 64 = 6144 pixels: over twice the limit Pillow refuses, between once and twice we do
    for limit, words in ((1000, "too large to decode safely"), (4000, "decompression-bomb limit")):
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        with pytest.raises(InvalidRequest, match=words):
            check(jpeg, "image/jpeg")
