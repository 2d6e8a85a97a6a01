"""The embed stage on a hand-made catalog: vectors, resume, rejects, locks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from trendgan.embed import embed, get_encoder, latest_encoder_key, load_vectors
from trendgan.embed.vectors import part_files, read_encoder_info
from trendgan.errors import NoImagesError, StoreError, StoreLockedError

from .conftest import TINY, add_to_catalog, write_images


def _by_id(ids, vectors):
    return {i: v for i, v in zip(ids, vectors)}


@pytest.mark.parametrize("workers", [0, 2])
def test_embed_writes_one_unit_vector_per_image(catalogued, workers):
    store, paths, ids = catalogued
    result = embed(store, encoder=TINY, device="cpu", batch_size=5, workers=workers)
    assert (result.embedded, result.already_embedded, result.rejected, result.dim) == (12, 0, 0, 64)
    got_ids, vectors = load_vectors(store, TINY)
    assert sorted(got_ids) == sorted(ids) and vectors.shape == (12, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The batched, worker-decoded pipeline gives the same vectors as embedding the PIL images directly.
    direct = get_encoder(TINY).embed_images([Image.open(p) for p in paths])
    got = _by_id(got_ids, vectors)
    np.testing.assert_allclose(np.stack([got[i] for i in ids]), direct, atol=1e-5)
    info = read_encoder_info(result.folder)
    assert info["key"] == TINY and info["dim"] == 64 and info["vectors"] == 12 and info["finished_at"]
    assert latest_encoder_key(store) == TINY


def test_second_run_skips_what_is_embedded_and_embeds_new_images(catalogued, tmp_path):
    store, _, _ = catalogued
    embed(store, encoder=TINY, device="cpu", workers=0)
    again = embed(store, encoder=TINY, device="cpu", workers=0)
    assert (again.embedded, again.already_embedded, again.total_vectors) == (0, 12, 12)
    add_to_catalog(store, write_images(tmp_path / "more", 3, start=100))
    third = embed(store, encoder=TINY, device="cpu", workers=0)
    assert (third.embedded, third.already_embedded, third.total_vectors) == (3, 12, 15)
    ids, _ = load_vectors(store)
    assert len(ids) == len(set(ids)) == 15


def test_limit_embeds_part_now_and_the_rest_later(catalogued):
    store, _, _ = catalogued
    assert embed(store, encoder=TINY, device="cpu", workers=0, limit=5).embedded == 5
    assert embed(store, encoder=TINY, device="cpu", workers=0).embedded == 7


def test_interrupted_run_keeps_finished_parts_and_resumes_without_duplicates(catalogued, monkeypatch):
    store, _, ids = catalogued
    from trendgan.embed.clip import ClipEncoder

    original = ClipEncoder.embed_pixels
    calls = {"n": 0}

    def dies_on_third_batch(self, pixels):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, pixels)

    monkeypatch.setattr(ClipEncoder, "embed_pixels", dies_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        embed(store, encoder=TINY, device="cpu", batch_size=4, workers=0, part_size=4)
    folder = store.embeddings_dir(TINY)
    assert len(part_files(folder)) == 2                       # the two finished batches, nothing half-written
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    first_ids, _ = load_vectors(store, TINY)
    assert len(first_ids) == 8

    monkeypatch.setattr(ClipEncoder, "embed_pixels", original)
    resumed = embed(store, encoder=TINY, device="cpu", batch_size=4, workers=0, part_size=4)
    assert (resumed.embedded, resumed.already_embedded) == (4, 8)
    got_ids, vectors = load_vectors(store, TINY)
    assert sorted(got_ids) == sorted(ids)
    # Resumed vectors equal those of one uninterrupted run (random weights are seeded, so the model is the same).
    fresh = get_encoder(TINY).embed_images([Image.open(p) for p in sorted(catalogued[1])])
    got = _by_id(got_ids, vectors)
    order = [ids[catalogued[1].index(p)] for p in sorted(catalogued[1])]
    np.testing.assert_allclose(np.stack([got[i] for i in order]), fresh, atol=1e-5)


def test_undecodable_images_move_to_rejects_and_missing_files_stay(catalogued, tmp_path):
    store, paths, ids = catalogued
    truncated = tmp_path / "bad" / "truncated.jpg"
    truncated.parent.mkdir()
    truncated.write_bytes(paths[0].read_bytes()[:300])
    garbage = tmp_path / "bad" / "garbage.jpg"
    garbage.write_bytes(b"<html>not a picture</html>")
    gone = tmp_path / "bad" / "gone.jpg"
    gone.write_bytes(paths[1].read_bytes()[:-10] + b"0123456789")
    bad_ids = add_to_catalog(store, [truncated, garbage, gone])
    gone.unlink()
    with store.catalog() as db:   # a repost of the truncated image, and the truncated image's fingerprint
        db.execute("UPDATE images SET duplicate_of = ? WHERE image_id = ?", [bad_ids[0], ids[5]])
        db.execute("INSERT INTO fingerprints VALUES (?, ?)", [bad_ids[0], b"\x00" * 192])

    result = embed(store, encoder=TINY, device="cpu", batch_size=4, workers=2)
    assert (result.embedded, result.rejected, result.missing) == (12, 2, 1)
    with store.catalog(read_only=True) as db:
        left = {r[0] for r in db.execute("SELECT image_id FROM images").fetchall()}
        rejects = db.execute("SELECT path, stage, reason FROM rejects ORDER BY path").fetchall()
        files = dict(db.execute("SELECT path, status FROM files").fetchall())
    assert bad_ids[0] not in left and bad_ids[1] not in left and bad_ids[2] in left
    assert [(p.split("/")[-1], s) for p, s, _ in rejects] == [("garbage.jpg", "embed"), ("truncated.jpg", "embed")]
    assert {r for *_, r in rejects} <= {"corrupt", "truncated"}
    assert files[str(truncated)] == "rejected" and files[str(gone)] == "image"
    with store.catalog(read_only=True) as db:
        assert db.execute("SELECT count(*) FROM fingerprints").fetchone() == (0,)
        assert db.execute("SELECT duplicate_of FROM images WHERE image_id = ?", [ids[5]]).fetchone() == (None,)
    got_ids, _ = load_vectors(store, TINY)
    assert sorted(got_ids) == sorted(ids)

    again = embed(store, encoder=TINY, device="cpu", workers=0)
    assert (again.embedded, again.rejected, again.missing) == (0, 0, 1)   # the missing file is retried, not lost


def test_a_second_writer_is_refused(catalogued):
    store, _, _ = catalogued
    with store.writer("ingest"), pytest.raises(StoreLockedError):
        embed(store, encoder=TINY, device="cpu", workers=0)


def test_clear_errors_for_no_store_and_empty_catalog(store):
    with pytest.raises(StoreError, match="trendgan ingest"):
        embed(store, encoder=TINY)
    with store.catalog():
        pass
    with pytest.raises(NoImagesError, match="trendgan ingest"):
        embed(store, encoder=TINY, device="cpu")


KILLABLE_RUN = """
import sys, time
from trendgan.embed.clip import ClipEncoder
from trendgan.embed import embed
original = ClipEncoder.embed_pixels
def slow(self, pixels):
    time.sleep(0.4)   # slow enough that the parent kills it mid-run
    return original(self, pixels)
ClipEncoder.embed_pixels = slow
embed(sys.argv[1], encoder=sys.argv[2], device="cpu", batch_size=2, workers=1, part_size=2)
"""


@pytest.mark.slow
def test_killed_process_resumes_with_nothing_lost_or_duplicated(tmp_path):
    """SIGKILL (no cleanup at all) in the middle of a run; the rerun completes the folder exactly once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from trendgan.store import Store

    store = Store(tmp_path / "store")
    ids = add_to_catalog(store, write_images(tmp_path / "images", 24))
    folder = store.embeddings_dir(TINY)
    child = subprocess.Popen([sys.executable, "-c", KILLABLE_RUN, str(store.root), TINY], start_new_session=True)
    deadline = time.monotonic() + 120
    while len(part_files(folder)) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    kept = len(load_vectors(store, TINY)[0])
    assert 4 <= kept < 24, kept                       # killed mid-run, with finished parts on disk
    result = embed(store, encoder=TINY, device="cpu", workers=0)
    assert (result.already_embedded, result.embedded) == (kept, 24 - kept)
    got_ids, _ = load_vectors(store, TINY)
    assert sorted(got_ids) == sorted(ids)              # nothing lost, nothing twice
