"""A tiny store built by hand for the GAN tests: catalog rows and a Parquet part of vectors in the documented
layout, so the GAN is tested without the ingest and embed stages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pytest

ENCODER = "test-colours"
STYLE_COLOURS = [(220, 40, 40), (40, 60, 220), (40, 200, 60)]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    # Many tiny ops: see tests/conftest.py.
    yield


def _garment(colour, variant: int, rng) -> np.ndarray:
    """A 20 px 'garment': a coloured block whose shape depends on the variant, on a light background."""
    image = np.full((20, 20, 3), 235, np.uint8)
    top, width = 3 + variant % 3, 6 + variant % 5
    image[top : 18, 10 - width // 2 : 10 + width // 2 + 1] = colour
    return np.clip(image.astype(int) + rng.integers(-10, 11, image.shape), 0, 255).astype(np.uint8)


def build_store(store, per_style: int = 8, seed: int = 0):
    """Write images, catalog rows and vectors (a noisy one-hot of the style, 8-d, L2-normalised)."""
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder = store.root.parent / "images"
    folder.mkdir(parents=True, exist_ok=True)
    rows, vectors = [], []
    for style, colour in enumerate(STYLE_COLOURS):
        for i in range(per_style):
            path = folder / f"style{style}-{i}.png"
            Image.fromarray(_garment(colour, i, rng)).save(path)
            image_id = hashlib.sha256(path.read_bytes()).hexdigest()
            rows.append((image_id, str(path)))
            vector = np.zeros(8, np.float32)
            vector[style] = 1.0
            vector += rng.normal(0, 0.1, 8).astype(np.float32)
            vectors.append(vector / np.linalg.norm(vector))
    now = dt.datetime(2026, 1, 1)
    with store.writer("test"):
        with store.catalog() as db:
            for image_id, path in rows:
                db.execute(
                    "INSERT INTO images (image_id, path, source, posted_at, date_origin, width, height, phash, ingested_at) "
                    "VALUES (?, ?, 'test', ?, 'manifest', 20, 20, '0', ?)", [image_id, path, now, now])
    parts = store.embeddings_dir(ENCODER)
    parts.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"image_id": [r[0] for r in rows], "vector": [v.tolist() for v in vectors]}).to_parquet(
        parts / "part-00000.parquet", index=False)
    (parts / "encoder.json").write_text(json.dumps({"key": ENCODER, "dim": 8, "finished_at": "2026-01-01T00:00:00"}))
    return np.stack(vectors)


def build_styles_and_forecast(store, labels: dict[int, str], periods: int = 6):
    """A styles run (styles, drift) and a forecast run (labels) written through trendgan.runs, as the stages do."""
    import pandas as pd

    from trendgan.runs import ForecastRun, StylesRun, start_run

    centroids = np.eye(8, dtype=np.float32)[: len(STYLE_COLOURS)]
    drift = []
    for style, centroid in enumerate(centroids):
        for p in range(periods):
            moved = centroid.copy()
            moved[3] = 0.05 * p  # every style drifts towards dimension 3
            drift.append({"style_id": style, "ds": pd.Timestamp("2026-01-05") + pd.Timedelta(weeks=p),
                          "count": 4, "centroid": (moved / np.linalg.norm(moved)).tolist()})
    with start_run(store, StylesRun, settings={"period": "W"}, inputs={"encoder": ENCODER}) as styles:
        styles.write_table("styles", pd.DataFrame({
            "style_id": range(len(STYLE_COLOURS)), "name": ["red <b>block</b>", "blue block", "green block"],
            "size": [8] * 3, "share": [1 / 3] * 3, "centroid": [c.tolist() for c in centroids],
        }))
        styles.write_table("drift", pd.DataFrame(drift))

    with start_run(store, ForecastRun, settings={"horizon": 4}, inputs={"styles_run": styles.name}) as forecast:
        forecast.write_table("labels", pd.DataFrame({
            "unique_id": list(labels), "trend": list(labels.values()),
            "change": [0.1 * (i + 1) for i in range(len(labels))], "confidence": [0.8] * len(labels),
        }))
    return styles.folder, forecast.folder


@pytest.fixture
def gan_data():
    """The builders above (test modules cannot import conftest under --import-mode=importlib)."""
    import types

    return types.SimpleNamespace(ENCODER=ENCODER, COLOURS=STYLE_COLOURS, build_store=build_store,
                                 build_styles_and_forecast=build_styles_and_forecast)
