"""A simulated corpus goes through `trendgan ingest` whole: every image, its day, source, caption and likes."""

from __future__ import annotations

import csv

import pytest

from trendgan.simulate import simulate

ingest_module = pytest.importorskip("trendgan.ingest", reason="the ingest stage is not in this checkout")


def test_ingest_catalogs_every_simulated_post_as_the_manifest_says(tmp_path, store):
    corpus = simulate(tmp_path / "corpus", periods=4, per_period=12, size=32, seed=1)
    ingest_module.ingest([corpus.out], store=store, manifest=corpus.manifest, leading_sources=corpus.leading_sources,
                         near_duplicate_distance=-1, workers=1)
    with open(corpus.manifest, newline="", encoding="utf-8") as fh:
        expected = {(corpus.out / row["path"]).resolve().as_posix(): row for row in csv.DictReader(fh)}
    with store.catalog(read_only=True) as db:
        rows = db.execute(
            "SELECT path, source, leading_source, CAST(posted_at AS DATE), caption, engagement, duplicate_of FROM images"
        ).fetchall()
    assert len(rows) == corpus.images
    for path, source, leading, day, caption, likes, duplicate_of in rows:
        post = expected[path]
        assert (source, day.isoformat(), caption, likes) == (post["source"], post["date"], post["caption"], int(post["likes"]))
        assert leading == (source in corpus.leading_sources) and duplicate_of is None
