import json

import pytest
from foureyes.errors import MissingStore
from foureyes.store import layout
from foureyes.store.layout import LayoutMismatch


def test_first_start_records_the_defaults_and_later_starts_keep_them(tmp_path, monkeypatch):
    monkeypatch.setattr(layout.os, "cpu_count", lambda: 8)
    assert layout.resolve(tmp_path) == (4, 1)
    assert json.loads((tmp_path / "layout.json").read_text())["case_shards"] == 4
    monkeypatch.setattr(layout.os, "cpu_count", lambda: 2)  # moved to a smaller machine
    assert layout.resolve(tmp_path) == (4, 1)
    assert layout.resolve(tmp_path, case_shards=4) == (4, 1)


def test_other_counts_than_the_directory_holds_are_refused_with_the_way_out(tmp_path):
    layout.resolve(tmp_path, case_shards=3, customer_shards=2)
    with pytest.raises(LayoutMismatch, match="made with --case-shards 3.*start with --case-shards 3"):
        layout.resolve(tmp_path, case_shards=1)
    with pytest.raises(LayoutMismatch, match="--customer-shards 2"):
        layout.resolve(tmp_path, customer_shards=1)
    assert layout.resolve(tmp_path) == (3, 2)  # nothing changed by the refusals


def test_a_directory_from_before_the_record_is_read_from_its_files(tmp_path, monkeypatch):
    monkeypatch.setattr(layout.os, "cpu_count", lambda: 2)
    for name in ("cases-0.sqlite", "cases-1.sqlite", "customers-0.sqlite"):
        (tmp_path / name).write_bytes(b"")
    assert layout.resolve(tmp_path) == (2, 1)
    with pytest.raises(LayoutMismatch):
        layout.resolve(tmp_path, case_shards=1)


def test_made_databases_and_their_nodes_are_recorded_beside_the_counts(tmp_path):
    layout.resolve(tmp_path, 2, 1)
    layout.record(tmp_path, ["cases-0", "customers-0"], {"cases-0": "foureyes_disk_a"})
    layout.record(tmp_path, ["cases-1"], {"cases-0": "foureyes_disk_b", "cases-1": "node:x"})
    assert layout.made(tmp_path) == {"cases-0", "cases-1", "customers-0"}
    assert layout.nodes(tmp_path) == {"cases-0": "foureyes_disk_a", "cases-1": "node:x"}  # kept
    assert layout.resolve(tmp_path) == (2, 1)  # the counts survive the records
    assert layout.made(tmp_path) == {"cases-0", "cases-1", "customers-0"}


def test_a_recorded_database_not_found_is_refused_never_made(tmp_path):
    layout.require(tmp_path / "cases-0.sqlite", must_exist=False)  # first start: made later
    with pytest.raises(MissingStore, match="cases-0.sqlite"):
        layout.require(tmp_path / "cases-0.sqlite", must_exist=True)
    assert not (tmp_path / "cases-0.sqlite").exists()
