"""Synthetic stores for the styles tests: images in a few well-separated looks, each look a solid colour."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

LOOK_COLOURS = [(200, 30, 40), (25, 35, 80), (40, 140, 60), (245, 215, 50), (20, 20, 20)]  # red navy green yellow black


def look_directions(n_looks: int, dim: int = 32, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_looks, dim))
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def look_vectors(looks: np.ndarray, centres: np.ndarray, spread: float = 0.15, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = centres[looks] + spread * rng.normal(size=(len(looks), centres.shape[1])) / np.sqrt(centres.shape[1]) * 3
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def add_images(store, tmp_path, looks, weeks, centres, *, seed=0, prefix="img", leading=None, engagement=None,
               encoder="test-encoder", part=0, dated=None):
    """Write one solid-colour PNG per image, its catalog row and its vector (embeddings/<encoder>/part-N.parquet)."""
    from PIL import Image

    from trendgan.store import write_json_atomic, write_parquet_atomic

    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    start = dt.datetime(2024, 1, 1)  # a Monday
    rows = []
    for i, (look, week) in enumerate(zip(looks, weeks)):
        image_id = f"{prefix}-{i:05d}"
        path = folder / f"{image_id}.png"
        canvas = Image.new("RGB", (24, 24), (250, 250, 250))
        canvas.paste(Image.new("RGB", (14, 18), LOOK_COLOURS[look % len(LOOK_COLOURS)]), (5, 3))
        canvas.save(path)
        posted = start + dt.timedelta(weeks=int(week), days=int(i % 7), hours=int(i % 24))
        if dated is not None and not dated[i]:
            posted = None
        rows.append({
            "image_id": image_id, "path": str(path), "source": "influencers" if (leading is not None and leading[i]) else "feed",
            "leading_source": bool(leading[i]) if leading is not None else False, "posted_at": posted,
            "date_origin": "manifest", "width": 24, "height": 24, "phash": "0" * 16, "duplicate_of": None,
            "caption": None, "engagement": None if engagement is None else engagement[i], "ingested_at": start,
        })
    frame = pd.DataFrame(rows)
    frame["engagement"] = frame["engagement"].astype("Int64")
    with store.catalog() as db:
        db.register("new_rows", frame)
        db.execute(f"INSERT INTO images ({', '.join(frame.columns)}) SELECT * FROM new_rows")
    vectors = look_vectors(np.asarray(looks), centres, seed=seed)
    parts = pd.DataFrame({"image_id": frame["image_id"], "vector": list(vectors)})
    write_parquet_atomic(parts, store.embeddings_dir(encoder) / f"part-{part:05d}.parquet")
    # what `trendgan embed` leaves beside its parts, so the latest encoder can be found
    write_json_atomic(store.embeddings_dir(encoder) / "encoder.json",
                      {"key": encoder, "dim": int(vectors.shape[1]), "finished_at": dt.datetime.now().isoformat()})
    return frame, vectors


@pytest.fixture
def centres():
    return look_directions(5)


@pytest.fixture
def style_store(store, tmp_path, centres):
    """A store with 4 looks over 6 weeks (200 images), every fifth image from a leading source."""
    rng = np.random.default_rng(0)
    looks = rng.integers(0, 4, size=200)
    weeks = np.repeat(np.arange(6), [34, 33, 33, 34, 33, 33])
    leading = np.arange(200) % 5 == 0
    add_images(store, tmp_path, looks, weeks, centres, leading=leading, engagement=rng.integers(0, 500, 200))
    return store


@pytest.fixture
def add_looks(store, tmp_path, centres):
    """``add_looks(looks, weeks, prefix=..., ...)`` adds images of the given looks in the given weeks."""

    def add(looks, weeks, dim=None, **kwargs):
        chosen = centres if dim is None else look_directions(5, dim=dim)
        return add_images(store, tmp_path, np.asarray(looks), np.asarray(weeks), chosen, **kwargs)

    return add
