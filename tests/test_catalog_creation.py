"""The catalog is created whole or not at all: a killed first ingest never leaves a catalog without tables."""

from __future__ import annotations

from trendgan.check import check_store, repair_store
from trendgan.store import Store


def _tables(store: Store) -> set[str]:
    with store.catalog(read_only=True) as db:
        return {row[0] for row in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_a_new_catalog_has_every_table_and_leaves_no_temporary_file(tmp_path):
    store = Store(tmp_path / "store")
    with store.catalog() as db:
        db.execute("SELECT 1")
    assert {"images", "fingerprints", "files", "rejects", "runs"} <= _tables(store)
    assert sorted(p.name for p in store.root.iterdir()) == ["catalog.duckdb"]


def test_a_catalog_that_appeared_meanwhile_is_never_replaced(tmp_path):
    store = Store(tmp_path / "store")
    with store.catalog() as db:
        db.execute("INSERT INTO rejects VALUES ('a.jpg', 'ingest', 'corrupt', NULL, now())")
    store._create_catalog()  # a second process that saw no catalog a moment ago
    with store.catalog(read_only=True) as db:
        assert db.execute("SELECT count(*) FROM rejects").fetchone()[0] == 1
    assert sorted(p.name for p in store.root.iterdir()) == ["catalog.duckdb"]


def test_what_a_creation_killed_midway_leaves_is_litter_that_repair_removes(tmp_path):
    store = Store(tmp_path / "store")
    store.root.mkdir(parents=True)
    (store.root / ".catalog.duckdb.1a2b3c4d.tmp").write_bytes(b"half a database")
    (store.root / ".catalog.duckdb.1a2b3c4d.tmp.wal").write_bytes(b"half a log")
    assert not store.exists()  # no catalog.duckdb: the next ingest starts afresh
    report = check_store(store)
    assert report.ok and len(report.litter) == 2
    repair_store(store)
    assert not check_store(store).litter
    assert [p.name for p in store.root.iterdir() if p.name != ".lock"] == []  # the writer lock repair took stays
