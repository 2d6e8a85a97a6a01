"""store_status: what a store holds, read-only."""

from __future__ import annotations

import datetime as dt

import pytest

from trendgan.errors import StoreError, TrendganError
from trendgan.ingest import ingest
from trendgan.status import store_status


def test_status_counts_periods_sources_and_stages(pics, store, tmp_path):
    pics.write("insta/2023/01/a.png", seed=1)
    pics.write("insta/2023/01/b.png", seed=2)
    pics.write("runway/2023/03/c.png", seed=3)
    pics.write("runway/undated.png", seed=4)
    pics.write_bytes("runway/copy.png", (pics.root / "insta/2023/01/a.png").read_bytes())
    pics.write_bytes("runway/empty.png", b"")
    ingest([pics.root], store=store, leading_sources=["runway"])

    # later stages: a finished styles run, an unfinished one, and one part of embeddings
    finished = store.new_run("styles", "20260101-000000")
    (finished / "config.json").write_text("{}")
    store.new_run("styles", "20260102-000000")  # no config.json: unfinished, not counted
    import pandas as pd

    parts = store.embeddings_dir("effnet-lite0")
    parts.mkdir(parents=True)
    pd.DataFrame({"image_id": ["x", "y"], "vector": [[0.1, 0.2], [0.3, 0.4]]}).to_parquet(parts / "part-00000.parquet")

    from trendgan.store import utcnow

    with store.catalog() as db:  # a file the embed stage could not use later
        db.execute("INSERT INTO rejects VALUES ('x.png', 'embed', 'corrupt', NULL, ?)", [utcnow()])
    status = store_status(store)
    assert (status.images, status.undated, status.exact_duplicates) == (4, 1, 1)
    assert status.rejected == {"empty": 1, "embed: corrupt": 1}
    assert status.images_per_period == [(dt.date(2023, 1, 1), 2), (dt.date(2023, 3, 1), 1)]
    assert [(s["source"], s["images"], s["leading"]) for s in status.sources] == [("insta", 2, False), ("runway", 2, True)]
    assert status.date_origins == {"path": 3, "none": 1}
    assert status.stages["styles"] == {"runs": 1, "latest": "20260101-000000"}
    assert status.stages["forecasts"] == {"runs": 0, "latest": None}
    assert status.embeddings == {"effnet-lite0": {"vectors": 2, "parts": 1, "damaged_parts": 0}}
    # what a killed run left behind, and a vector folder written by hand without its encoder.json, are said
    assert [p.split(" (")[0].split(":")[0] for p in status.problems] == [
        "effnet-lite0/encoder.json is missing or unreadable, so its vectors cannot be matched to their encoder",
        "the styles run 20260102-000000 was never finished"]
    assert status.last_ingest["status"] == "done" and status.last_ingest["summary"]["new"] == 4
    assert status.to_dict()["images_per_period"][0] == {"period": "2023-01-01", "images": 2}
    yearly = store_status(store, period="year")
    assert yearly.images_per_period == [(dt.date(2023, 1, 1), 3)]


def test_status_warns_about_a_damaged_vector_part_instead_of_counting_fewer(pics, store):
    """A truncated part used to make status report fewer vectors, with no word about it."""
    import pandas as pd

    pics.write("insta/2023/01/a.png", seed=1)
    ingest([pics.root], store=store)
    parts = store.embeddings_dir("effnet-lite0")
    parts.mkdir(parents=True)
    (parts / "encoder.json").write_text('{"key": "effnet-lite0"}')
    for n in range(2):
        pd.DataFrame({"image_id": [f"x{n}"], "vector": [[0.1, 0.2]]}).to_parquet(parts / f"part-0000{n}.parquet")
    whole = (parts / "part-00001.parquet").read_bytes()
    (parts / "part-00001.parquet").write_bytes(whole[: len(whole) // 2])
    status = store_status(store)
    assert status.embeddings == {"effnet-lite0": {"vectors": 1, "parts": 2, "damaged_parts": 1}}
    assert len(status.problems) == 1 and status.problems[0].startswith(
        "the vector part effnet-lite0/part-00001.parquet is damaged")
    assert "trendgan check --repair" in status.problems[0]


def test_status_of_a_missing_store_says_what_to_do(tmp_path):
    with pytest.raises(StoreError, match="trendgan ingest"):
        store_status(tmp_path / "nothing-here")


def test_status_rejects_unknown_periods(store):
    with pytest.raises(TrendganError, match="unknown period"):
        store_status(store, period="fortnight")
