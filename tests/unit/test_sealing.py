"""Personal fields sealed at rest, the key id with each ciphertext; rotation under load."""

from __future__ import annotations

import asyncio

import pytest
from foureyes.actors.case import Case
from foureyes.errors import Tampered
from foureyes.security import keys
from foureyes.service.cli import main
from foureyes.store import sealing
from foureyes.store.cases import CaseStore
from foureyes.store.customers import CustomerStore
from foureyes.store.sealing import AtRest, SealError

from tests.unit.specs import spec

ID_NO = "110101199003071234"


async def test_keys_rotate_under_load_and_rows_before_and_after_read_back(tmp_path, monkeypatch,
                                                                         store_opener):
    monkeypatch.setattr(sealing, "REFRESH_SECONDS", 0.0)  # the hosts look every 2 s
    data = tmp_path / "data"
    keys_dir = keys.default_keys_dir(data)
    store = CaseStore(data / "cases-0.sqlite", AtRest.load(keys_dir), store_opener)
    customers = CustomerStore(data / "customers-0.sqlite", AtRest.load(keys_dir), store_opener)
    await store.open()
    await customers.open()
    rotated = asyncio.Event()

    async def writer(n):
        for i in range(40):
            case = Case(spec(f"C{n}-{i}", customer_id=f"{ID_NO}-{n}-{i}"))
            event = case.create()
            await store.save([(case.to_row(), event)])
            await customers.record([(f"{ID_NO}-{n}", f"k{n}-{i}", 1.0 + i, {"cash": 1.0})])
            if i == 20:
                await rotated.wait()  # half the rows before the rotation, half after

    async def rotate():
        await asyncio.sleep(0.05)
        assert main(["keys", "rotate", "--data-dir", str(data)]) == 0
        rotated.set()

    await asyncio.gather(*(writer(n) for n in range(4)), rotate())
    for n in range(4):
        for i in range(40):
            assert (await store.get(f"C{n}-{i}"))["spec"]["customer_id"] == f"{ID_NO}-{n}-{i}"
        assert len(await customers.since([f"{ID_NO}-{n}"], 0.0)) == 40
    docs = [d for (d,) in await store.db.read("SELECT doc FROM cases")]
    assert sum('"enc:1:' in d for d in docs) > 0 and sum('"enc:2:' in d for d in docs) > 0
    assert not any(ID_NO in d for d in docs)
    await store.close()
    await customers.close()
    # and after a restart, with both keys on file, every row opens
    store = CaseStore(data / "cases-0.sqlite", AtRest.load(keys_dir), store_opener)
    await store.open()
    assert len(await store.get_many([f"C{n}-{i}" for n in range(4) for i in range(40)])) == 160
    await store.close()


async def test_sealed_fields_do_not_open_elsewhere_or_changed(tmp_path):
    at_rest = AtRest.load(tmp_path / "k")
    sealed = at_rest.sealer.seal(ID_NO, "C1")
    assert ID_NO not in sealed and at_rest.sealer.open(sealed, "C1") == ID_NO
    with pytest.raises(SealError):
        at_rest.sealer.open(sealed, "C2")  # moved to another case
    with pytest.raises(SealError):
        AtRest.load(tmp_path / "other").sealer.open(sealed, "C1")  # another key ring


async def test_a_journal_copied_into_another_keys_dir_is_refused(tmp_path, store_opener):
    data = tmp_path / "data"
    store = CaseStore(data / "cases-0.sqlite", AtRest.load(tmp_path / "k1"), store_opener)
    await store.open()
    case = Case(spec("C1"))
    event = case.create()
    await store.save([(case.to_row(), event)])
    await store.close()
    other = CaseStore(data / "cases-0.sqlite", AtRest.load(tmp_path / "k2"), store_opener)
    await other.open()
    with pytest.raises(Tampered):
        await other.get("C1")
    await other.close()
