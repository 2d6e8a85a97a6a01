"""A store with a styles run written by hand in the stage's contract format (docs/stages.md), for CLI tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trendgan.store import Store, utcnow


def weekly_store(root, periods: int = 20, styles: int = 4) -> Store:
    """A catalog with a few dated images and a styles run of ``periods`` weekly shares for ``styles`` styles."""
    store = Store(root)
    ds = pd.date_range("2024-01-01", periods=periods, freq="W-MON")
    with store.catalog() as db:
        for i, day in enumerate(ds):
            db.execute("INSERT INTO images (image_id, path, source, posted_at, date_origin, width, height, phash, ingested_at)"
                       " VALUES (?, ?, 'feed', ?, 'path', 64, 64, '0', ?)", [f"id{i}", f"/nowhere/{i}.png", day, utcnow()])
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(styles) * 20, size=periods)
    series = pd.DataFrame([dict(unique_id=s, ds=d, y=float(weights[t, s]), count=int(weights[t, s] * 40), total=40,
                                low_volume=False, y_leading=np.nan) for t, d in enumerate(ds) for s in range(styles)])
    table = pd.DataFrame(dict(style_id=range(styles), name=[f"look {s}" for s in range(styles)], size=10, share=1 / styles,
                              centroid=[[1.0, 0.0]] * styles, representatives=[[]] * styles,
                              representative_paths=[[]] * styles))
    folder = store.root / "styles" / "20240101-000000"
    folder.mkdir(parents=True)
    series.to_parquet(folder / "series.parquet", index=False)
    table.to_parquet(folder / "styles.parquet", index=False)
    (folder / "config.json").write_text(json.dumps({"encoder": "test", "period": "W"}))
    return store


@pytest.fixture
def store20(tmp_path):
    return weekly_store(tmp_path / "store", periods=20)


@pytest.fixture
def weekly():
    """The store builder above: ``weekly(root, periods=14)``."""
    return weekly_store
