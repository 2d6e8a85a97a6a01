"""A full disk, simulated where each layer reports it (DuckDB's COMMIT, pyarrow's write, torch.save): one clear line
naming the real cause, finished work kept, and the same command finishing the job once there is space. The same on
a real, small file system is in test_real_faults.py (slow)."""

from __future__ import annotations

import errno
import shutil

import pytest

from trendgan.embed import embed
from trendgan.errors import DiskFullError
from trendgan.ingest import ingest

from .conftest import TINY, assert_one_line, assert_same_store, cli, copy_store

ENOSPC = "No space left on device"


class _FillsOnCommit:
    """A DuckDB connection whose ``n``-th COMMIT fails as DuckDB's does when the disk is full: the transaction is
    gone (a ROLLBACK after it fails too, "no transaction is active")."""

    def __init__(self, con, counter, fail_at):
        self._con, self._counter, self._fail_at = con, counter, fail_at

    def execute(self, sql, *args):
        import duckdb

        if sql.strip().upper() == "COMMIT":
            self._counter["commits"] += 1
            if self._counter["commits"] == self._fail_at:
                self._con.execute("ROLLBACK")
                raise duckdb.TransactionException(
                    f'TransactionContext Error: Failed to commit: Could not write file "catalog.duckdb.wal": {ENOSPC}')
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


@pytest.fixture
def disk_fills_on_commit(monkeypatch):
    import duckdb

    real_connect, counter = duckdb.connect, {"commits": 0}

    def arm(fail_at: int):
        counter["commits"] = 0
        monkeypatch.setattr(duckdb, "connect", lambda *a, **k: _FillsOnCommit(real_connect(*a, **k), counter, fail_at))

    yield arm
    monkeypatch.setattr(duckdb, "connect", real_connect)


def test_disk_full_in_ingest_names_the_real_cause_and_keeps_the_batches_before(corpus, store, tmp_path, tally,
                                                                                disk_fills_on_commit, monkeypatch):
    """Before: 'cannot rollback - no transaction is active' hid the full disk."""
    reference = type(store)(tmp_path / "reference")
    ingest([corpus], store=reference, workers=1, near_duplicate_distance=-1)
    monkeypatch.setattr("trendgan.ingest.core.BATCH_SIZE", 4)

    disk_fills_on_commit(2)  # the second batch of four
    with pytest.raises(DiskFullError, match="is full") as full:
        ingest([corpus], store=store, workers=1, near_duplicate_distance=-1, batch_size=4)
    assert "4 new images from the batches before are committed" in str(full.value)
    assert "rollback" not in str(full.value)
    with store.catalog(read_only=True) as db:
        assert db.execute("SELECT count(*) FROM images").fetchone() == (4,)
    disk_fills_on_commit(1)  # the CLI's batches are of 1,000: the first commit of the remaining eight
    assert_one_line(cli("ingest", corpus, "--store", store.root, "--near-duplicate-distance", "-1"), "is full",
                    "free some space")
    tally["faults injected"] += 2

    disk_fills_on_commit(10**9)  # space again
    again = ingest([corpus], store=store, workers=1, near_duplicate_distance=-1)
    assert (again.unchanged, again.new) == (4, 8)
    assert_same_store(store, reference, tally)
    tally["runs recovered"] += 1


def test_disk_full_in_embed_keeps_every_finished_part(embedded, tmp_path, tally, monkeypatch):
    """Before: with parts of 2,048 vectors and a flush a minute, a full disk lost every vector of the run."""
    import pyarrow.parquet as pq

    reference = copy_store(embedded, tmp_path / "reference")
    shutil.rmtree(embedded.root / "embeddings")
    real_write, calls = pq.write_table, {"n": 0}

    def fills_at_third_part(table, where, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, ENOSPC)
        return real_write(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", fills_at_third_part)
    with pytest.raises(DiskFullError) as full:
        embed(embedded, encoder=TINY, device="cpu", workers=0, batch_size=4, part_size=4)
    assert "8 vectors in 2 finished parts are kept, the 4 computed since the last part are not" in str(full.value)
    calls["n"] = 2
    assert_one_line(cli("embed", "--store", embedded.root, "--encoder", TINY, "--batch-size", "4", "-q"), "is full",
                    "finished parts are kept")
    tally["faults injected"] += 2
    folder = embedded.embeddings_dir(TINY)
    assert not list(folder.glob(".*.tmp"))  # the failed write left no half part

    monkeypatch.setattr(pq, "write_table", real_write)
    again = embed(embedded, encoder=TINY, device="cpu", workers=0, batch_size=4, part_size=4)
    assert (again.already_embedded, again.embedded) == (8, 4)
    assert_same_store(embedded, reference, tally)
    tally["runs recovered"] += 1


def test_disk_full_while_saving_a_gan_checkpoint_is_one_line(embedded, tally, monkeypatch):
    import torch

    from trendgan.gan.train import train_gan

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, ENOSPC)

    monkeypatch.setattr(torch, "save", no_space)
    assert_one_line(cli("train", "--store", embedded.root, "--config", "gan-tiny-16", "--steps", "2", "--device", "cpu",
                        "-q"), "is full")
    tally["faults injected"] += 1
    assert not list((embedded.root / "gan").iterdir())  # nothing worth resuming was saved: nothing left behind
    monkeypatch.undo()
    assert train_gan(embedded, config="gan-tiny-16", steps=2, device="cpu").step == 2
    tally["runs recovered"] += 1


def test_is_disk_full_reads_each_library_s_words(tmp_path):
    import duckdb

    from trendgan.store import is_disk_full

    assert is_disk_full(OSError(errno.ENOSPC, ENOSPC))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(duckdb.TransactionException(f"Failed to commit: Could not write file: {ENOSPC}"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    # torch only says "file write failed": a full disk only when the file system really is (nearly) full
    assert not is_disk_full(RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed"), tmp_path)
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = OSError(errno.ENOSPC, ENOSPC)
    assert is_disk_full(wrapped)
