"""Retention: closed cases, decisions and audit entries older than a date leave the live
databases for an archive file with its own chain; nothing is deleted without a copy.

Per live database `<stem>.sqlite` there is one archive, `archive/<stem>.archive.sqlite`, with
the same tables, a copy of each moved row and, per moved live entry, an entry of its own chain
covering the same digests (so `audit verify` walks it like any live file), and `moved`:
which live entry went to which archive entry. The live entries stay where they are — they
hold digests, never personal content, and cutting them out of the middle would break the
chain — and the live chain gets a marker entry, subject `archive:<file>`, whose digests are
the archive's entry number and hash it was cut at and the digest of the live entries moved in
that run. The verifier then expects those entries' rows in the archive, not in the live file.

Run with the service stopped: a running host holds its chain's head in memory and would not
follow the marker. Crash-safe and idempotent: rows are copied first (skipping entries already
in `moved`), then removed from the live file with the marker in one transaction; a run that
stopped between the two is finished by the next.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from foureyes.errors import FoureyesError
from foureyes.store import chain_verify
from foureyes.store.chain import (
    CHAIN_SCHEMA,
    GENESIS,
    INSERT,
    Chain,
    Cover,
    canonical,
    digest,
    text_digest,
)

DIR = "archive"
MARK = chain_verify.ARCHIVE_MARK
MOVED_SCHEMA = """
CREATE TABLE IF NOT EXISTS moved (
    live_seq INTEGER PRIMARY KEY,
    archive_seq INTEGER NOT NULL UNIQUE,
    ref TEXT NOT NULL
);
"""
# the covered tables of each kind and their columns, in the order they are chained
_TABLES = {"decision": ("decisions", "at, channel, request_key, outcome, scene, case_id, "
                                     "rules_version, fired, facts"),
           "audit": ("audit", "at, event, actor, outcome, detail")}
_CASE_EVENT_COLUMNS = "case_id, version, at, kind, state, data"
_CASE_COLUMNS = "case_id, state, version, open, updated_at, doc"


class ArchiveError(FoureyesError):
    """The archive could not be made: the live file does not verify, or a row has no entry."""


@dataclass
class Moved:
    """What one run moved out of one live database."""

    chain: str
    archive: Path
    cases: list[str] = field(default_factory=list)
    events: int = 0
    decisions: int = 0
    audit: int = 0
    open_kept: int = 0  # open cases older than the date: never moved

    def __str__(self) -> str:
        what = ", ".join(f"{n} {w}" for n, w in ((len(self.cases), "closed case(s)"),
                                               (self.events, "case event(s)"),
                                               (self.decisions, "decision(s)"),
                                               (self.audit, "audit entr(ies)")) if n)
        kept = f"; {self.open_kept} open case(s) older than the date kept" if self.open_kept else ""
        return f"{self.chain}: moved {what or 'nothing'} to {self.archive}{kept}"


def archive_path(live: Path) -> Path:
    return live.parent / DIR / f"{live.stem}.archive.sqlite"


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _entries(conn: sqlite3.Connection) -> list[tuple[int, dict[str, object]]]:
    return [(seq, json.loads(body)) for seq, body in
            conn.execute("SELECT seq, body FROM chain ORDER BY seq")]


def markers(conn: sqlite3.Connection) -> list[tuple[int, str, int, str, str]]:
    """The live chain's archive markers: (entry, archive file, archive entry, its hash,
    digest of the live entries moved)."""
    out = []
    for seq, subject, body in conn.execute(
            "SELECT seq, subject, body FROM chain WHERE subject LIKE ? ORDER BY seq", (MARK + "%",)):
        d = json.loads(body)["d"]
        out.append((int(seq), subject[len(MARK):], int(d[0]), str(d[1]), str(d[2])))
    return out


def moved_digest(live_seqs: list[int]) -> str:
    return text_digest(canonical(sorted(live_seqs)))


def archive_file(live: Path, before: float, chain_key: bytes) -> Moved:
    """Moves what is older than `before` (a Unix time) out of `live` into its archive."""
    findings = chain_verify.verify_file(live, chain_key)
    if findings:
        raise ArchiveError(f"{live.name} does not verify ({findings[0].message}); archive "
                           f"nothing until `foureyes audit verify` is clean")
    target = archive_path(live)
    target.parent.mkdir(mode=0o700, exist_ok=True)
    result = Moved(live.stem, target)
    with _connect(live) as src, _connect(target) as dst:
        target.chmod(0o600)
        _schema(src, dst)
        _cut(src, dst, live.stem, target, chain_key)  # what a stopped run left copied
        _copy(src, dst, before, chain_key, result)
        _cut(src, dst, live.stem, target, chain_key)
    return result


def _schema(src: sqlite3.Connection, dst: sqlite3.Connection) -> None:
    """The live file's covered tables as they were made, the chain and `moved`."""
    schema = [sql for name, sql in src.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL")
        if name in ("cases", "case_events", "decisions", "audit")]
    dst.executescript("".join(sql.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
                              .replace("IF NOT EXISTS IF NOT EXISTS", "IF NOT EXISTS") + ";\n"
                              for sql in schema) + CHAIN_SCHEMA + MOVED_SCHEMA)


def _copy(src: sqlite3.Connection, dst: sqlite3.Connection, before: float, key: bytes,
          result: Moved) -> None:
    tables = _tables(src)
    done = {r[0] for r in dst.execute("SELECT live_seq FROM moved")}
    entries = [(s, b) for s, b in _entries(src) if s not in done]
    rows: list[tuple[int, dict[str, object], str, str, tuple[object, ...]]] = []
    if "cases" in tables:
        by_event = {(str(b["s"]), int(str(b["v"]))): (s, b) for s, b in entries if b["k"] == "case"}
        result.open_kept = src.execute("SELECT COUNT(*) FROM cases WHERE open = 1 AND "
                                       "updated_at < ?", (before,)).fetchone()[0]
        for (cid,) in src.execute("SELECT case_id FROM cases WHERE open = 0 AND updated_at < ? "
                                  "ORDER BY updated_at", (before,)).fetchall():
            events = src.execute(f"SELECT {_CASE_EVENT_COLUMNS} FROM case_events WHERE "
                                 f"case_id = ? ORDER BY version", (cid,)).fetchall()
            for ev in events:
                entry = by_event.get((cid, int(ev[1])))
                if entry is None:
                    raise ArchiveError(f"case {cid} version {ev[1]} has no chain entry")
                rows.append((entry[0], entry[1], "case_events", f"{cid}\n{ev[1]}", ev))
            result.cases.append(cid)
            result.events += len(events)
    for kind, (table, columns) in _TABLES.items():
        if table not in tables:
            continue
        mine = [(s, b) for s, b in entries if b["k"] == kind]
        live = src.execute(f"SELECT rowid, {columns} FROM {table} ORDER BY rowid").fetchall()
        for (seq, body), row in zip(mine, live, strict=False):
            if float(row[1]) < before:
                rows.append((seq, body, table, str(row[0]), tuple(row[1:])))
                setattr(result, "decisions" if kind == "decision" else "audit",
                        getattr(result, "decisions" if kind == "decision" else "audit") + 1)
    rows.sort(key=lambda r: r[0])
    last = dst.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    chain = Chain("archive", key)
    chain.resume(*(last if last else (0, GENESIS)))
    covers = [Cover(str(b["k"]), tuple(str(d) for d in b["d"]),  # type: ignore[attr-defined]
                    str(b["s"]), int(str(b["v"]))) for _, b, _, _, _ in rows]
    chained, _ = chain.entries(covers)
    dst.execute("BEGIN IMMEDIATE")
    for (seq, _, table, ref, values), entry in zip(rows, chained, strict=True):
        cols = _CASE_EVENT_COLUMNS if table == "case_events" else _TABLES[
            "decision" if table == "decisions" else "audit"][1]
        dst.execute(f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' * len(values))})", values)
        dst.execute(INSERT, entry)
        dst.execute("INSERT INTO moved (live_seq, archive_seq, ref) VALUES (?, ?, ?)",
                    (seq, entry[0], f"{table}\n{ref}"))
    for cid in result.cases:
        row = src.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE case_id = ?", (cid,)).fetchone()
        dst.execute(f"INSERT OR REPLACE INTO cases ({_CASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row)
    dst.execute("COMMIT")


def _cut(src: sqlite3.Connection, dst: sqlite3.Connection, name: str, target: Path,
         key: bytes) -> None:
    """Removes from the live file the rows copied but not yet cut, with the marker."""
    cut_at = max((m[2] for m in markers(src) if m[1] == target.name), default=0)
    pending = dst.execute("SELECT live_seq, archive_seq, ref FROM moved WHERE archive_seq > ? "
                          "ORDER BY archive_seq", (cut_at,)).fetchall()
    if not pending:
        return
    aseq = pending[-1][1]
    ahead = dst.execute("SELECT hash FROM chain WHERE seq = ?", (aseq,)).fetchone()[0]
    last = src.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    chain = Chain(name, key)
    chain.resume(*(last if last else (0, GENESIS)))
    marker, _ = chain.entries([Cover("archive", (str(aseq), ahead,
                                                 moved_digest([p[0] for p in pending])),
                                     MARK + target.name)])
    src.execute("BEGIN IMMEDIATE")
    for _, _, ref in pending:
        table, key_text = ref.split("\n", 1)
        if table == "case_events":
            cid, version = key_text.split("\n")
            src.execute("DELETE FROM case_events WHERE case_id = ? AND version = ?",
                        (cid, int(version)))
            src.execute("DELETE FROM cases WHERE case_id = ? AND open = 0", (cid,))
        else:
            src.execute(f"DELETE FROM {table} WHERE rowid = ?", (int(key_text),))
    src.execute(INSERT, marker[0])
    src.execute("COMMIT")


IMAGES_ARCHIVE = "images.archive.sqlite"


@dataclass
class MovedImages:
    archive: Path
    images: int = 0
    blobs: int = 0  # originals no live image uses any more, moved to archive/images/

    def __str__(self) -> str:
        return (f"images: moved {self.images} index row(s) of archived cases and {self.blobs} "
                f"original(s) to {self.archive}")


def archive_images(data_dir: Path, chain_key: bytes) -> MovedImages | None:
    """Moves the index rows of every archived case (any case in an archive/cases-*.archive
    file) to the images archive, chained there, and the originals no live row uses any more.
    Idempotent: it works from what the case archives hold, so a run stopped midway is finished
    by the next."""
    live = data_dir / "images.sqlite"
    target = data_dir / DIR / IMAGES_ARCHIVE
    if not live.exists():
        return None
    archived: set[str] = set()
    for path in sorted((data_dir / DIR).glob("cases-*.archive.sqlite")):
        with _connect(path) as conn:
            archived.update(r[0] for r in conn.execute("SELECT case_id FROM cases"))
    result = MovedImages(target)
    table, columns = chain_verify.covered_rows("image")
    with _connect(live) as src:
        if "customer_blind" not in {r[1] for r in src.execute("PRAGMA table_info(images)")}:
            raise ArchiveError(f"{live.name} predates the sealed customer id: start the service "
                               f"once to convert it, then archive")
        ids = [r[0] for r in src.execute("SELECT image_id, case_id FROM images")
               if r[1] in archived]
        if not ids:
            return result
        target.parent.mkdir(mode=0o700, exist_ok=True)
        with _connect(target) as dst:
            target.chmod(0o600)
            sql = src.execute("SELECT sql FROM sqlite_master WHERE name = 'images'").fetchone()[0]
            dst.executescript(sql.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
                              .replace("IF NOT EXISTS IF NOT EXISTS", "IF NOT EXISTS") + ";"
                              + CHAIN_SCHEMA)
            held = {r[0] for r in dst.execute("SELECT image_id FROM images")}
            fresh = [i for i in ids if i not in held]
            last = dst.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
            chain = Chain("images.archive", chain_key)
            chain.resume(*(last if last else (0, GENESIS)))
            names = [r[1] for r in src.execute("PRAGMA table_info(images)")]
            dst.execute("BEGIN IMMEDIATE")
            for image_id in fresh:
                row = src.execute(f"SELECT {', '.join(names)} FROM images WHERE image_id = ?",
                                  (image_id,)).fetchone()
                dst.execute(f"INSERT INTO images ({', '.join(names)}) VALUES "
                            f"({','.join('?' * len(names))})", row)
                covered = dst.execute(f"SELECT {columns} FROM {table} WHERE image_id = ?",
                                      (image_id,)).fetchone()
                entries, head = chain.entries([Cover("image", (digest(*covered),), image_id)])
                dst.execute(INSERT, entries[0])
                chain.advance(head)
            dst.execute("COMMIT")
        shas = {r[0] for r in src.execute(
            f"SELECT sha256 FROM images WHERE image_id IN ({','.join('?' * len(ids))})", ids)}
        src.execute("BEGIN IMMEDIATE")
        src.executemany("DELETE FROM images WHERE image_id = ?", [(i,) for i in ids])
        still = {r[0] for r in src.execute("SELECT DISTINCT sha256 FROM images")}
        for sha in sorted(shas - still):
            result.blobs += _move_blob(data_dir, sha)
        src.execute("COMMIT")  # after the originals are safe in the archive
        result.images = len(ids)
    return result


def _move_blob(data_dir: Path, sha: str) -> int:
    """Copies an original into archive/images/ (fsynced), then removes the live one."""
    rel = Path(sha[:2]) / sha[2:4] / sha
    src, dst = data_dir / "images" / rel, data_dir / DIR / "images" / rel
    if not src.exists():
        return 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        tmp = dst.with_suffix(".part")
        with src.open("rb") as r, tmp.open("wb") as w:
            shutil.copyfileobj(r, w, 1024 * 1024)
            w.flush()
            os.fsync(w.fileno())
        if hashlib.sha256(tmp.read_bytes()).hexdigest() != sha:
            tmp.unlink()
            raise ArchiveError(f"the original {sha} does not match its name; not moved")
        os.replace(tmp, dst)
    src.unlink()
    return 1
