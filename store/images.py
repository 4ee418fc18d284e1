"""Evidence images: the originals, content-addressed, and their index.

Originals are evidence, kept byte for byte and named by their SHA-256 (`images/ab/cd/<sha256>`
under the data directory). A blob is written to a temporary file, fsynced, renamed into place
and its directory fsynced before the upload is acknowledged; the same bytes uploaded again are
stored once. The store is behind `BlobStore`, so an object store can replace the file system
in a cluster (an implementation stages the upload in a local file the same way, then puts it).

The index (SQLite) says which case each image belongs to, whose it is, what it shows and how it
was checked; the same blob may serve several index rows (the same photo in two cases). The
customer id is sealed (store/sealing.py) and looked up by its blind index (`customer_blind`),
as the customer store does, so the index names no customer in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from foureyes.store.backend import Opener, sqlite
from foureyes.store.database import Database, Statement
from foureyes.store.sealing import AtRest, Sealer

READ_CHUNK = 256 * 1024


class BlobWriter(Protocol):
    staged: Path  # the bytes so far, in a local file: validation reads them from here
    size: int

    def write(self, data: bytes) -> None: ...
    def sha256(self) -> str: ...
    def finish(self) -> None:
        """Every byte written is in `staged` (to be read back for validation)."""
        ...
    async def sync(self) -> None:
        """The staged bytes on disk (fsync), while they are validated; commit does it if not."""
        ...
    async def commit(self) -> bool:
        """Durably store the blob under its SHA-256; False if it was stored already."""
        ...
    def abort(self) -> None: ...


class BlobStore(Protocol):
    def begin(self) -> BlobWriter: ...
    def exists(self, sha256: str) -> bool: ...
    def open(self, sha256: str) -> BinaryIO: ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FileWriter:
    def __init__(self, store: FileBlobStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.staging, prefix="upload-")
        self.staged = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0
        self._synced = False

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def finish(self) -> None:
        self._file.flush()

    async def sync(self) -> None:
        await asyncio.to_thread(self._sync)

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._synced = True

    async def commit(self) -> bool:
        return await asyncio.to_thread(self._commit)

    def _commit(self) -> bool:
        if not self._synced:
            self._sync()
        self._file.close()
        target = self._store.path_of(self.sha256())
        if target.exists():
            self.staged.unlink()
            return False
        made = [p for p in (target.parent.parent, target.parent) if not p.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.staged, target)
        _fsync_dir(target.parent)  # the rename itself must survive a crash
        for new in made:  # and the directories the rename went into
            _fsync_dir(new.parent)
        return True

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        self.staged.unlink(missing_ok=True)


class FileBlobStore:
    """Blobs as files under `root` (the data directory's `images/`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / "tmp"
        self.staging.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256[:70]!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def begin(self) -> _FileWriter:
        return _FileWriter(self)

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()

    def open(self, sha256: str) -> BinaryIO:
        return self.path_of(sha256).open("rb")

    def blobs(self) -> Iterator[Path]:
        """Every stored blob (not the staging area)."""
        for path in self.root.glob("??/??/*"):
            if path.is_file():
                yield path


def read_chunks(blobs: BlobStore, sha256: str, size: int = READ_CHUNK) -> Iterator[bytes]:
    with blobs.open(sha256) as f:
        while chunk := f.read(size):
            yield chunk


IMAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    image_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    scene TEXT NOT NULL,
    business_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    captured_by TEXT NOT NULL,
    uploaded_at REAL NOT NULL,
    captured_at REAL NOT NULL,
    round INTEGER NOT NULL,
    phash TEXT NOT NULL,
    band0 INTEGER, band1 INTEGER, band2 INTEGER, band3 INTEGER,
    checks TEXT NOT NULL,
    thumbnail BLOB,
    customer_blind TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS images_case ON images(case_id);
CREATE INDEX IF NOT EXISTS images_sha ON images(sha256);
CREATE INDEX IF NOT EXISTS images_at ON images(uploaded_at);
CREATE INDEX IF NOT EXISTS images_band0 ON images(band0);
CREATE INDEX IF NOT EXISTS images_band1 ON images(band1);
CREATE INDEX IF NOT EXISTS images_band2 ON images(band2);
CREATE INDEX IF NOT EXISTS images_band3 ON images(band3);
"""

# The perceptual hash (64 bits) in four 16-bit bands: two hashes within NEAR_BITS of each
# other share at least one band exactly (pigeonhole), so near matches are found by index.
NEAR_BITS = 3


def bands(phash: str) -> list[int | None]:
    if len(phash) != 16:
        return [None] * 4
    value = int(phash, 16)
    return [(value >> (16 * i)) & 0xFFFF for i in range(4)]


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@dataclass(frozen=True)
class StoredImage:
    image_id: str
    case_id: str
    customer_id: str
    scene: str
    business_type: str
    kind: str
    type: str
    sha256: str
    size: int
    content_type: str
    uploaded_by: str  # the channel system that uploaded it
    captured_by: str  # the operator, device or session that captured it, as the channel says
    uploaded_at: float
    captured_at: float  # EXIF capture time; 0: unknown
    round: int  # 0: before the first offer; n: after the n-th return for supplement
    phash: str  # perceptual hash, 16 hex digits; empty for documents and videos
    checks: list[dict[str, str]] = field(default_factory=list)  # {check, message}
    thumbnail: bytes = b""

    def item(self) -> dict[str, Any]:
        """What the case keeps of the image (no thumbnail: the journal rewrites it often)."""
        out = asdict(self)
        del out["thumbnail"]
        out["thumbnail"] = bool(self.thumbnail)
        return out


_COLUMNS = ("image_id", "case_id", "customer_id", "scene", "business_type", "kind", "type",
            "sha256", "size", "content_type", "uploaded_by", "captured_by", "uploaded_at",
            "captured_at", "round", "phash", "checks", "thumbnail")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM images"


# an index made before the customer id was sealed: its column added, its rows sealed on open
_BLIND_INDEX = "CREATE INDEX IF NOT EXISTS images_customer_blind ON images(customer_blind)"


def _image(row: tuple[Any, ...], sealer: Sealer) -> StoredImage:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["customer_id"] = sealer.open(values["customer_id"])
    values["checks"] = json.loads(values["checks"])
    values["thumbnail"] = values["thumbnail"] or b""
    return StoredImage(**values)


class ImageIndex:
    def __init__(self, path: Path, opener: Opener = sqlite, sealer: Sealer | None = None) -> None:
        """`sealer`: the service's (AtRest.sealer); the development keys without one."""
        self.sealer = sealer or AtRest.development().sealer
        self.db = opener(path, IMAGE_SCHEMA, True, None)

    async def open(self) -> None:
        await self.db.open()
        if self.db.dialect == "sqlite":  # an index file from before the blind index
            await self._seal_clear_rows()

    async def _seal_clear_rows(self) -> None:
        columns = {r[1] for r in await self.db.look_up("PRAGMA table_info(images)")}
        statements: list[Statement] = []
        if "customer_blind" not in columns:
            statements.append(("ALTER TABLE images ADD COLUMN customer_blind TEXT NOT NULL "
                               "DEFAULT ''", ()))
        statements += [("DROP INDEX IF EXISTS images_customer", ()), (_BLIND_INDEX, ())]
        clear = await self.db.look_up(
            "SELECT image_id, customer_id FROM images WHERE customer_blind = ''"
            if "customer_blind" in columns else "SELECT image_id, customer_id FROM images")
        statements += [("UPDATE images SET customer_id = ?, customer_blind = ? WHERE image_id = ?",
                        (self.sealer.seal(c), self.sealer.blind(self.sealer.open(c)), i))
                       for i, c in clear]
        await self.db.write(statements)
        if clear and isinstance(self.db, Database):  # no clear id left in free pages or WAL
            await self.db.compact()

    async def close(self) -> None:
        await self.db.close()

    async def add(self, image: StoredImage) -> bool:
        """Committed (fsync) on return; False if that image id is indexed already (the same
        bytes, kind and type uploaded to the same case again)."""
        if await self.get(image.image_id) is not None:
            return False
        await self.db.write([(
            "INSERT OR IGNORE INTO images (image_id, case_id, customer_id, scene, business_type, "
            "kind, type, sha256, size, content_type, uploaded_by, captured_by, uploaded_at, "
            "captured_at, round, phash, band0, band1, band2, band3, checks, thumbnail, "
            "customer_blind) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (image.image_id, image.case_id, self.sealer.seal(image.customer_id), image.scene,
             image.business_type,
             image.kind, image.type, image.sha256, image.size, image.content_type,
             image.uploaded_by, image.captured_by, image.uploaded_at, image.captured_at,
             image.round, image.phash, *bands(image.phash), json.dumps(image.checks),
             image.thumbnail or None, self.sealer.blind(image.customer_id)))])
        return True

    async def get(self, image_id: str) -> StoredImage | None:
        rows = await self.db.look_up(f"{_SELECT} WHERE image_id = ?", (image_id,))
        return _image(rows[0], self.sealer) if rows else None

    async def thumbnails(self, image_ids: list[str]) -> dict[str, bytes]:
        if not image_ids:
            return {}
        rows = await self.db.look_up(
            f"SELECT image_id, thumbnail FROM images WHERE image_id IN "
            f"({','.join('?' * len(image_ids))})", image_ids[:500])
        return {i: t for i, t in rows if t}

    async def case_bytes(self, case_id: str) -> int:
        rows = await self.db.look_up("SELECT COALESCE(SUM(size), 0) FROM images WHERE case_id = ?",
                               (case_id,))
        return int(rows[0][0])

    async def used_elsewhere(self, sha256: str, phash: str, customer_id: str) -> list[StoredImage]:
        """Images of other customers with the same bytes or a near-identical picture, the
        earliest first."""
        blind = self.sealer.blind(customer_id)
        found = {i.image_id: i for i in (_image(r, self.sealer) for r in await self.db.look_up(
            f"{_SELECT} WHERE sha256 = ? AND customer_blind != ?", (sha256, blind)))}
        if phash:
            b = bands(phash)
            for image in (_image(r, self.sealer) for r in await self.db.look_up(
                    f"{_SELECT} WHERE (band0 = ? OR band1 = ? OR band2 = ? OR band3 = ?) "
                    "AND customer_blind != ?", (*b, blind))):
                if distance(image.phash, phash) <= NEAR_BITS:
                    found[image.image_id] = image
        return sorted(found.values(), key=lambda i: i.uploaded_at)

    async def select(self, customer_id: str = "", case_id: str = "", since: float | None = None
               ) -> list[StoredImage]:
        """The archive's selections: by customer, by case, or uploaded since a time."""
        return [_image(r, self.sealer) for r in
                await self.db.look_up(*_selection(self.sealer, customer_id, case_id, since))]


def _selection(sealer: Sealer, customer_id: str, case_id: str, since: float | None
               ) -> tuple[str, list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("customer_blind", customer_id and sealer.blind(customer_id)),
                          ("case_id", case_id)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if since is not None:
        where.append("uploaded_at >= ?")
        args.append(since)
    sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "")
    return sql + " ORDER BY uploaded_at", args


def read_images(path: Path, sealer: Sealer, customer_id: str = "", case_id: str = "",
                since: float | None = None) -> list[StoredImage]:
    """ImageIndex.select on a file opened read-only (the export runs beside a live service);
    an index not yet opened by a service since the customer id was sealed is read as it is."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if "customer_blind" not in {r[1] for r in conn.execute("PRAGMA table_info(images)")}:
            every = [_image(r, sealer) for r in conn.execute(*_selection(sealer, "", case_id, since))]
            return [i for i in every if not customer_id or i.customer_id == customer_id]
        return [_image(r, sealer) for r in
                conn.execute(*_selection(sealer, customer_id, case_id, since))]
    finally:
        conn.close()
