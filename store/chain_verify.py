"""`foureyes audit verify`: walk each database's audit chain, the rows it covers and its
checkpoints, and name the first entry that was changed, deleted, inserted or reordered.

One walk for both stores, over a reader of rows (store/chain_rows.py): a SQLite file read
with plain sqlite3, or a PostgreSQL schema (store/postgres.py); a command-line walk, or a
host's check of its tail before it serves.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foureyes.store.case_seal import event_digest
from foureyes.store.chain import (
    GENESIS,
    Chain,
    canonical,
    checkpoint_text,
    digest,
    link,
    text_digest,
)
from foureyes.store.chain_rows import ChainRows, sqlite_rows, unsuspended

TAIL = 200  # entries a host checks before it serves


@dataclass(frozen=True)
class Finding:
    # the database: its file's stem (cases-0, decisions-<gateway>, audit-<gateway>), or on
    # PostgreSQL its schema ("schema cases_0")
    chain: str
    message: str

    def __str__(self) -> str:
        return f"{self.chain}: {self.message}"


# the covered tables of the written-behind logs, their columns in the order they were chained
_ROWS = {"decision": ("decisions", "at, channel, request_key, outcome, scene, case_id, "
                                   "rules_version, fired, facts"),
         "audit": ("audit", "at, event, actor, outcome, detail"),
         # only in archive/images.archive.sqlite: the live image index is not chained
         "image": ("images", "image_id, case_id, customer_id, scene, business_type, kind, "
                             "type, sha256, size, content_type, uploaded_by, captured_by, "
                             "uploaded_at, captured_at, round, phash, checks, hex(thumbnail), "
                             "customer_blind")}


def covered_rows(kind: str) -> tuple[str, str]:
    """The table and the columns, in chained order, of a kind of entry."""
    return _ROWS[kind]


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path)
    try:
        yield conn
    finally:
        conn.close()


ARCHIVE_MARK = "archive:"  # the subject of a live chain's archive markers (store/archive.py)


def chained_files(data_dir: Path) -> list[Path]:
    """The live databases, then the archives (store/archive.py)."""
    out = []
    for path in [*sorted(data_dir.glob("*.sqlite")), *sorted(data_dir.glob("archive/*.sqlite"))]:
        with _connect(path) as conn:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'chain'").fetchone():
                out.append(path)
    return out


def head(path: Path) -> tuple[int, str]:
    with sqlite_rows(path) as rows:
        return unsuspended(head_of(rows))


def verify_file(path: Path, chain_key: bytes, tail: int | None = None,
                exported: dict[str, Any] | None = None) -> list[Finding]:
    """Findings of a SQLite file (see `verify`), its archives beside it in archive/."""
    with sqlite_rows(path) as rows:
        return unsuspended(verify(rows, path.stem, chain_key, tail, exported, path.parent))


async def verify(rows: ChainRows, name: str, chain_key: bytes, tail: int | None = None,
                 exported: dict[str, Any] | None = None, data_dir: Path | None = None
                 ) -> list[Finding]:
    """Findings, the first break of the chain first; `name`: the chain's (its checkpoints are
    signed under it); `tail`: only the last entries (a host's check on start); `exported`: a
    checkpoint file's head for this chain, to compare; `data_dir`: where the archives its
    markers name are (None: a store without archives, PostgreSQL)."""
    chain = Chain(name, chain_key)
    found: list[str] = []
    last = (await rows.rows("SELECT MAX(seq) FROM chain"))[0][0] or 0
    start = max(0, last - tail) if tail is not None else 0
    prev = GENESIS
    if start:
        row = await rows.rows("SELECT hash FROM chain WHERE seq <= ? ORDER BY seq DESC LIMIT 1",
                              (start,))
        prev = row[0][0] if row else GENESIS
    entries = await rows.rows("SELECT seq, subject, version, body, prev, hash, mac FROM chain "
                              "WHERE seq > ? ORDER BY seq", (start,))
    expected = start + 1
    hashes: dict[int, str] = {}
    good: list[tuple[int, dict[str, Any], str, int]] = []
    for seq, subject, version, body, p, h, mac in entries:
        if seq != expected:
            found.append(f"entry {expected}" + (f" to {seq - 1}" if seq - 1 > expected else "")
                         + f" deleted (entry {seq} follows entry {expected - 1})")
            break
        if p != prev:
            found.append(f"entry {seq} does not follow entry {seq - 1}: reordered, inserted "
                         f"or replaced")
            break
        if link(p, body) != h:
            found.append(f"entry {seq} changed (its hash does not match its content)")
            break
        if not chain.mac_ok(h, mac):
            found.append(f"entry {seq} not signed by the chain key: inserted or recomputed "
                         f"outside foureyes")
            break
        parsed = json.loads(body)
        if parsed.get("s", "") != subject or parsed.get("v", 0) != version:
            found.append(f"entry {seq} changed (its subject or version columns)")
            break
        hashes[seq] = h
        good.append((seq, parsed, subject, version))
        prev, expected = h, seq + 1
    found += await _checkpoints(rows, name, chain, last, hashes, start, exported)
    moved, problems = await archived_seqs(rows, data_dir)
    found += problems
    found += await _covered(rows, [g for g in good if g[0] not in moved], full=tail is None)
    return [Finding(rows.label, m) for m in found]


async def head_of(rows: ChainRows) -> tuple[int, str]:
    row = await rows.rows("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1")
    return (int(row[0][0]), str(row[0][1])) if row else (0, GENESIS)


async def archived_seqs(rows: ChainRows, data_dir: Path | None) -> tuple[set[int], list[str]]:
    """The live entries whose rows the archive markers say were moved, each marker checked
    against the archive it names: its entry and hash there, and the list of entries moved."""
    moved: set[int] = set()
    found: list[str] = []
    cut: dict[str, int] = {}
    for seq, subject, body in await rows.rows(
            "SELECT seq, subject, body FROM chain WHERE subject LIKE ? ORDER BY seq",
            (ARCHIVE_MARK + "%",)):
        file = subject[len(ARCHIVE_MARK):]
        aseq, ahead, listed = json.loads(body)["d"]
        if data_dir is None:  # archives are SQLite files (store/archive.py)
            found.append(f"entry {seq} marks rows moved to archive/{file}, and this store "
                         f"has no archives (they are SQLite files only)")
            continue
        path = data_dir / "archive" / Path(file).name
        if not path.exists():
            found.append(f"entry {seq} marks rows moved to archive/{file}, which is missing")
            continue
        with _connect(path) as arc:
            row = arc.execute("SELECT hash FROM chain WHERE seq = ?", (int(aseq),)).fetchone()
            seqs = [int(r[0]) for r in arc.execute(
                "SELECT live_seq FROM moved WHERE archive_seq > ? AND archive_seq <= ?",
                (cut.get(file, 0), int(aseq)))]
        cut[file] = int(aseq)
        if row is None or row[0] != ahead:
            found.append(f"entry {seq}: archive/{file} entry {aseq} differs from what was "
                         f"archived (changed, deleted or rolled back)")
        if text_digest(canonical(sorted(seqs))) != listed:
            found.append(f"entry {seq}: archive/{file} lists other moved entries than were "
                         f"archived")
        moved.update(seqs)
    return moved, found


async def _checkpoints(rows: ChainRows, name: str, chain: Chain, last: int,
                       hashes: dict[int, str], start: int, exported: dict[str, Any] | None
                       ) -> list[str]:
    found = []
    marks = [(seq, at, h, mac, "checkpoint") for seq, at, h, mac in await rows.rows(
        "SELECT seq, at, head, mac FROM chain_checkpoints ORDER BY seq")]
    if exported is not None:
        marks.append((exported["seq"], exported.get("at", 0.0), exported["head"], "",
                      "exported checkpoint"))
    for seq, at, h, mac, what in marks:
        if mac and not chain.mac_ok(checkpoint_text(name, seq, h, at), mac):
            found.append(f"{what} at entry {seq} is not signed by the chain key (forged)")
        elif seq > last:
            found.append(f"entries {last + 1} to {seq} deleted ({what} signs entry {seq}, the "
                         f"chain ends at {last})")
        elif seq > start and seq in hashes and hashes[seq] != h:
            found.append(f"entry {seq} differs from the {what} of that entry")
    return found


async def _covered(rows: ChainRows, entries: list[tuple[int, dict[str, Any], str, int]],
                   full: bool) -> list[str]:
    """The covered rows against the entries that verified."""
    found: list[str] = []
    tables = await rows.tables()
    cases = {(s, v): (seq, body["d"]) for seq, body, s, v in entries if body["k"] == "case"}
    if (cases or full) and "case_events" in tables:
        found += await _cases(rows, cases, full)
    for kind, (table, columns) in _ROWS.items():
        mine = [(seq, body["d"][0]) for seq, body, _, _ in entries if body["k"] == kind]
        if (not mine and not full) or table not in tables:
            continue
        held = await rows.rows(f"SELECT rowid, {columns} FROM {table} ORDER BY rowid")
        if not full:
            held = held[-len(mine):] if mine else []
        for i in range(max(len(held), len(mine))):
            if i >= len(mine):
                found.append(f"{table} row {held[i][0]} has no chain entry (inserted)")
                break
            if i >= len(held):
                found.append(f"{table} row covered by entry {mine[i][0]} deleted")
                break
            if digest(*held[i][1:]) != mine[i][1]:
                found.append(f"{table} row {held[i][0]} (entry {mine[i][0]}) changed, deleted or "
                             f"inserted before it")
                break
    return found


async def _cases(rows: ChainRows, cases: dict[tuple[str, int], tuple[int, list[str]]],
                 full: bool) -> list[str]:
    found = []
    seen = set()
    # the whole tables, or (a host's tail check) only the rows of the cases in the tail
    subjects = sorted({cid for cid, _ in cases})
    newest: dict[str, int] = {}
    for cid, version in cases:
        newest[cid] = max(newest.get(cid, 0), version)
    where = "" if full else f" WHERE case_id IN ({','.join('?' * len(subjects))})"
    args: Sequence[str] = () if full else subjects
    for cid, version, at, kind, state, data in await rows.rows(
            "SELECT case_id, version, at, kind, state, data FROM case_events" + where
            + " ORDER BY rowid", args):
        entry = cases.get((cid, version))
        if entry is None:
            if full or version > newest.get(cid, 0):  # newer than its newest entry
                found.append(f"case_events row (case {cid}, version {version}) has no chain "
                             f"entry (inserted)")
            continue
        seen.add((cid, version))
        if event_digest(cid, version, at, kind, state, data) != entry[1][0]:
            found.append(f"case_events row (case {cid}, version {version}), entry {entry[0]}, "
                         f"changed")
    for (cid, version), (seq, _) in cases.items():
        if (cid, version) not in seen:
            found.append(f"case_events row (case {cid}, version {version}), entry {seq}, deleted")
    latest: dict[str, tuple[int, int, str]] = {}
    for (cid, version), (seq, d) in cases.items():
        if cid not in latest or latest[cid][0] < version:
            latest[cid] = (version, seq, d[1])
    for cid, state, version_col, open_col, doc in await rows.rows(
            "SELECT case_id, state, version, open, doc FROM cases" + where, args):
        if cid not in latest:
            if full:
                found.append(f"cases row of case {cid} has no chain entry (inserted)")
            continue
        version, seq, want = latest[cid]
        parsed = json.loads(doc)
        if text_digest(doc) != want or (state, version_col, bool(open_col)) != (
                parsed.get("state"), parsed.get("version"), parsed.get("open")):
            found.append(f"cases row of case {cid} changed (entry {seq}, version {version}, "
                         f"holds another state)")
    return found


async def verify_shard(path: Path, chain_key: bytes, database_url: str | None,
                       tail: int | None = None) -> list[Finding]:
    """A shard's chain wherever its store keeps it: the SQLite file `path`, or (a database
    URL) the PostgreSQL schema named after its stem."""
    if database_url is None:
        return verify_file(path, chain_key, tail)
    from foureyes.store import postgres  # asyncpg only when asked for

    async with postgres.connected(database_url) as conn, postgres.schema_rows(
            conn, postgres.schema_name(path.stem)) as rows:
        return await verify(rows, path.stem, chain_key, tail)


@dataclass(frozen=True)
class Walked:
    """One chain of a PostgreSQL database, verified."""

    label: str  # schema <name>
    name: str  # the chain's own name (its file stem on SQLite): checkpoints are keyed by it
    head: tuple[int, str]
    findings: list[Finding]


async def walk_postgres(database_url: str, chain_key: bytes,
                        exported: dict[str, dict[str, Any]] | None = None,
                        heads_only: bool = False) -> list[Walked]:
    """Every chained schema of the database, each in its own snapshot; `heads_only`: read the
    heads, verify nothing (a checkpoint's export)."""
    from foureyes.store import postgres

    out = []
    async with postgres.connected(database_url) as conn:
        for schema in await postgres.chained_schemas(conn):
            async with postgres.schema_rows(conn, schema) as rows:
                name = await rows.chain_name(chain_key)
                findings = [] if heads_only else await verify(
                    rows, name, chain_key, exported=(exported or {}).get(name))
                out.append(Walked(rows.label, name, await head_of(rows), findings))
    return out
