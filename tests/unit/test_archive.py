"""Retention: `foureyes archive` moves closed cases, decisions and audit entries to archive
files with their own chains; the live chains and the archives verify afterwards, and a
tampered archive is named. Real SQLite files, real keys."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
from foureyes.actors.case import Case
from foureyes.service.cli import main
from foureyes.store.cases import CaseStore
from foureyes.store.images import FileBlobStore, ImageIndex
from foureyes.store.sealing import AtRest

from tests.unit.specs import spec
from tests.unit.test_audit_chain import edit, fill, verify
from tests.unit.test_image_index import ID_NUMBER, image


@pytest.fixture
def dirs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    return data, tmp_path / "data.keys"


EVERYTHING = ["--retention-months", "0", "--before", "2099-01-01"]


def archive(capsys, data, *extra):
    code = main(["archive", "--data-dir", str(data), *extra])
    return code, capsys.readouterr().out


def rows(path, sql):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def open_case(data, keys_dir, case_id="OPEN1"):
    store = CaseStore(data / "cases-0.sqlite", AtRest.load(keys_dir))
    await store.open()
    case = Case(spec(case_id))
    await store.save([(case.to_row(), case.create())])
    await store.close()


async def test_archived_records_leave_the_live_shard_and_both_verify(dirs, capsys):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    await open_case(data, keys_dir)
    code, out = archive(capsys, data, *EVERYTHING)
    assert code == 0, out
    assert "cases-0: moved 3 closed case(s), 12 case event(s)" in out, out
    assert "1 open case(s) older than the date kept" in out
    assert "decisions-g: moved 3 decision(s)" in out and "audit-g: moved 3 audit" in out
    live, arc = data / "cases-0.sqlite", data / "archive" / "cases-0.archive.sqlite"
    assert rows(live, "SELECT case_id FROM cases") == [("OPEN1",)]
    assert rows(live, "SELECT DISTINCT case_id FROM case_events") == [("OPEN1",)]
    assert sorted(rows(arc, "SELECT case_id FROM cases")) == [("C0",), ("C1",), ("C2",)]
    assert rows(arc, "SELECT COUNT(*) FROM case_events") == [(12,)]
    assert rows(data / "decisions-g.sqlite", "SELECT COUNT(*) FROM decisions") == [(0,)]
    # sealed fields stay sealed in the archive: no customer id or reason text in clear
    for path in (data / "archive").iterdir():
        assert b"cust-1" not in path.read_bytes(), path
    code, out = verify(capsys, data)
    assert code == 0, out
    assert "cases-0: ok" in out and "cases-0.archive: ok, 12 entries" in out, out
    assert "decisions-g.archive: ok, 3 entries" in out


async def test_archiving_twice_moves_nothing_more_and_later_runs_append(dirs, capsys):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    assert archive(capsys, data, *EVERYTHING)[0] == 0
    code, out = archive(capsys, data, *EVERYTHING)
    assert code == 0 and "cases-0: moved nothing" in out, out
    await fill(data, keys_dir, cases=2, first=10)
    code, out = archive(capsys, data, *EVERYTHING)
    assert "cases-0: moved 2 closed case(s)" in out, out
    code, out = verify(capsys, data)
    assert code == 0, out
    assert "cases-0.archive: ok, 20 entries" in out, out


async def test_a_tampered_archive_is_named(dirs, capsys):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    assert archive(capsys, data, *EVERYTHING)[0] == 0
    arc = data / "archive" / "cases-0.archive.sqlite"
    edit(arc, "UPDATE cases SET state = 'APPROVED', doc = replace(doc, '\"REJECTED\"', "
              "'\"APPROVED\"') WHERE case_id = 'C1'")
    edit(data / "archive" / "decisions-g.archive.sqlite", "DELETE FROM decisions WHERE rowid = 2")
    code, out = verify(capsys, data)
    assert code == 1
    assert "cases-0.archive: TAMPERED: cases row of case C1 changed" in out, out
    assert "decisions-g.archive: TAMPERED: decisions row" in out, out


async def test_a_rolled_back_or_missing_archive_is_named_by_the_live_chain(dirs, capsys):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    assert archive(capsys, data, *EVERYTHING)[0] == 0
    edit(data / "archive" / "cases-0.archive.sqlite", "DELETE FROM chain WHERE seq > 8",
         "DELETE FROM moved WHERE archive_seq > 8")
    (data / "archive" / "audit-g.archive.sqlite").unlink()
    code, out = verify(capsys, data)
    assert code == 1
    assert "cases-0: TAMPERED: entry 13: archive/cases-0.archive.sqlite entry 12 differs" in out, out
    assert "audit-g: TAMPERED: entry 4 marks rows moved to archive/audit-g.archive.sqlite, " \
           "which is missing" in out, out


async def test_refusals_are_clear_and_move_nothing(dirs, capsys):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    code, out = archive(capsys, data, "--before", "2099-01-01")
    assert code == 2 and "inside the retention time of 12 month(s)" in out, out
    edit(data / "cases-0.sqlite", "UPDATE case_events SET kind = 'x' WHERE rowid = 1")
    code, out = archive(capsys, data, *EVERYTHING)
    assert code == 2 and "refused: cases-0.sqlite does not verify" in out, out
    assert rows(data / "cases-0.sqlite", "SELECT COUNT(*) FROM cases") == [(3,)]
    code, out = archive(capsys, data / "nowhere", *EVERYTHING)
    assert code == 2 and "no data directory" in out


async def test_the_images_of_archived_cases_go_with_them(dirs, capsys):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    await open_case(data, keys_dir)
    at_rest = AtRest.load(keys_dir)
    blobs = FileBlobStore(data / "images")
    index = ImageIndex(data / "images.sqlite", sealer=at_rest.sealer)
    await index.open()
    shas = {}
    for case_id, content in (("C1", b"only C1"), ("C2", b"shared"), ("OPEN1", b"shared")):
        writer = blobs.begin()
        writer.write(content)
        writer.finish()
        await writer.commit()
        shas[case_id] = writer.sha256()
        await index.add(replace(image(0, ID_NUMBER, shas[case_id]), image_id=f"img-{case_id}",
                                case_id=case_id))
    await index.close()
    code, out = archive(capsys, data, *EVERYTHING)
    assert code == 0, out
    assert "images: moved 2 index row(s) of archived cases and 1 original(s)" in out, out
    assert not blobs.exists(shas["C1"]) and blobs.exists(shas["OPEN1"])  # still used live
    moved = data / "archive" / "images" / shas["C1"][:2] / shas["C1"][2:4] / shas["C1"]
    assert moved.read_bytes() == b"only C1"
    assert rows(data / "images.sqlite", "SELECT case_id FROM images") == [("OPEN1",)]
    arc = data / "archive" / "images.archive.sqlite"
    assert sorted(rows(arc, "SELECT case_id FROM images")) == [("C1",), ("C2",)]
    assert ID_NUMBER.encode() not in arc.read_bytes()  # still sealed
    assert "moved 0 index row(s)" in archive(capsys, data, *EVERYTHING)[1]
    code, out = verify(capsys, data)
    assert code == 0 and "images.archive: ok, 2 entries" in out, out
    edit(arc, "UPDATE images SET kind = 'selfie' WHERE case_id = 'C2'")
    code, out = verify(capsys, data)
    assert code == 1 and "images.archive: TAMPERED: images row" in out, out
