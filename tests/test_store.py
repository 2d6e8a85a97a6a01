import json
import multiprocessing as mp

import pytest

from trendgan.errors import StageNotRunError, StoreError, StoreLockedError
from trendgan.runs import StylesRun
from trendgan.store import Store, atomic_path, encoder_slug, write_json_atomic


def test_catalog_schema_created_on_first_write(store):
    with store.writer("test"), store.catalog() as db:
        tables = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"images", "files", "rejects", "runs"} <= tables


def test_read_only_on_missing_store_is_clear(tmp_path):
    with pytest.raises(StoreError, match="trendgan ingest"):
        with Store(tmp_path / "nope").catalog(read_only=True):
            pass


def _hold_lock(root, ready, release):
    with Store(root).writer("ingest"):
        ready.set()
        release.wait(10)


def test_second_writer_gets_clear_message(store):
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(store.root, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(StoreLockedError, match=r"trendgan ingest.*pid"):
            with store.writer("embed"):
                pass
    finally:
        release.set()
        holder.join(10)
    with store.writer("embed"):  # released when the holder finished
        pass


def test_lock_released_when_holder_dies(store):
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(store.root, ready, release))
    holder.start()
    assert ready.wait(10)
    holder.kill()
    holder.join(10)
    with store.writer("ingest"):
        pass


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "a.json"
    write_json_atomic(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_run_folders_sort_and_latest(store):
    assert store.latest_run("styles") is None
    with pytest.raises(StageNotRunError, match="trendgan styles"):
        StylesRun.open(store)
    first = store.new_run("styles", "r1")
    write_json_atomic(first / "config.json", {})
    second = store.new_run("styles", "r1")
    assert second.name == "r1-2"
    assert store.run_dir("styles") == first  # second has no config.json yet: not finished
    write_json_atomic(second / "config.json", {})
    assert store.run_dir("styles") == second
    with pytest.raises(StoreError):
        store.new_run("styles", "../escape")


def test_encoder_slug():
    assert encoder_slug("clip:ViT-B-32/laion2b_s34b_b79k") == "clip-ViT-B-32-laion2b_s34b_b79k"
    assert "/" not in encoder_slug("clip:ViT-B-32@/tmp/x.pt")
