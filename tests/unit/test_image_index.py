"""The image index names no customer in clear: the customer id is sealed, looked up by its
blind index, and an index written before that is converted on open. Real SQLite files."""

from __future__ import annotations

import sqlite3

from foureyes.store.images import IMAGE_SCHEMA, ImageIndex, StoredImage, read_images
from foureyes.store.sealing import AtRest

ID_NUMBER = "110101199003071234"


def image(n, customer, sha="a" * 64, phash="0f0f0f0f0f0f0f0f"):
    return StoredImage(
        image_id=f"img-{n}", case_id=f"C{n}", customer_id=customer, scene="cash",
        business_type="cash", kind="id_document", type="front", sha256=sha, size=10,
        content_type="image/jpeg", uploaded_by="teller", captured_by="t-1",
        uploaded_at=1000.0 + n, captured_at=0.0, round=0, phash=phash)


def file_bytes(path):
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_the_customer_id_is_sealed_and_found_by_its_blind_index(tmp_path):
    keys = AtRest.load(tmp_path / "keys")
    path = tmp_path / "images.sqlite"
    index = ImageIndex(path, sealer=keys.sealer)
    await index.open()
    await index.add(image(1, ID_NUMBER))
    await index.add(image(2, "cust-2"))
    assert [i.image_id for i in await index.select(customer_id=ID_NUMBER)] == ["img-1"]
    assert (await index.get("img-1")).customer_id == ID_NUMBER
    # the same bytes as another customer's image are still found
    assert [i.customer_id for i in await index.used_elsewhere("a" * 64, "", "cust-2")] == [ID_NUMBER]
    assert [i.image_id for i in await index.used_elsewhere("b" * 64, "0f0f0f0f0f0f0f0e", ID_NUMBER)
            ] == ["img-2"]
    await index.close()
    assert ID_NUMBER.encode() not in file_bytes(path)
    assert [i.image_id for i in read_images(path, keys.sealer, customer_id=ID_NUMBER)] == ["img-1"]


async def test_an_index_written_in_clear_is_sealed_on_open(tmp_path):
    keys = AtRest.load(tmp_path / "keys")
    path = tmp_path / "images.sqlite"
    old = IMAGE_SCHEMA.replace(",\n    customer_blind TEXT NOT NULL DEFAULT ''", "")
    conn = sqlite3.connect(path)
    conn.executescript(old + "CREATE INDEX images_customer ON images(customer_id);")
    conn.execute("INSERT INTO images (image_id, case_id, customer_id, scene, business_type, "
                 "kind, type, sha256, size, content_type, uploaded_by, captured_by, uploaded_at, "
                 "captured_at, round, phash, checks) VALUES ('img-9', 'C9', ?, 's', 'b', 'k', "
                 "'t', ?, 1, 'image/png', 'teller', 'x', 1.0, 0.0, 0, '', '[]')",
                 (ID_NUMBER, "c" * 64))
    conn.commit()
    conn.close()
    assert [i.image_id for i in read_images(path, keys.sealer, customer_id=ID_NUMBER)] == ["img-9"]
    index = ImageIndex(path, sealer=keys.sealer)
    await index.open()
    assert [i.image_id for i in await index.select(customer_id=ID_NUMBER)] == ["img-9"]
    # while it is open: neither the file's free pages nor its WAL keep the clear id
    assert ID_NUMBER.encode() not in file_bytes(path)
    await index.close()
    assert ID_NUMBER.encode() not in file_bytes(path)
