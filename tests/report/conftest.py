"""A small store written by hand in the stages' contract formats (docs/stages.md), with XSS-bait style names."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from trendgan.store import Store, utcnow

BAIT = "<script>alert(1)</script>"
STYLES = {0: "wide-leg denim", 1: BAIT, 2: "floral midi", 3: "puffer jacket"}
TRENDS = {0: ("emerging", 0.8), 1: ("rising", 0.3), 2: ("stable", 0.01), 3: ("declining", -0.5)}


def periods(n: int = 12) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq="W-MON")


def synthetic_series(n_periods: int = 12) -> pd.DataFrame:
    rows = []
    slopes = {0: 0.02, 1: 0.01, 2: 0.0, 3: -0.02}
    for t, ds in enumerate(periods(n_periods)):
        shares = np.array([0.1 + slopes[s] * t for s in STYLES]) + 0.2
        shares = shares / shares.sum()
        total = 3 if t == 0 else 40
        for s, share in zip(STYLES, shares):
            rows.append(dict(unique_id=s, ds=ds, y=float(share), count=int(round(share * total)), total=total,
                             low_volume=total < 10, y_leading=float("nan")))
    return pd.DataFrame(rows)


def synthetic_forecasts(series: pd.DataFrame, horizon: int = 4) -> pd.DataFrame:
    last = series["ds"].max()
    future = pd.date_range(last + pd.Timedelta(weeks=1), periods=horizon, freq="W-MON")
    rows = []
    for s in STYLES:
        y_last = float(series.loc[series["unique_id"] == s, "y"].iloc[-1])
        for model in ("best", "ets", "snaive"):
            for h, ds in enumerate(future, start=1):
                mean = y_last * (1 + TRENDS[s][1] * h / horizon) if model != "snaive" else y_last
                rows.append({"unique_id": s, "ds": ds, "model": model, "mean": mean, "lo-80": mean * 0.8,
                             "hi-80": mean * 1.2, "lo-95": mean * 0.6, "hi-95": mean * 1.4})
    return pd.DataFrame(rows)


def synthetic_backtests() -> pd.DataFrame:
    rows = []
    for s in STYLES:
        for model, mase in (("ets", 0.7), ("snaive", 1.0), ("best", 0.65)):
            for window in range(2):
                rows.append(dict(unique_id=s, model=model, window=window, mase=mase + 0.05 * window, smape=0.1,
                                 coverage_80=0.8, coverage_95=0.95))
    return pd.DataFrame(rows)


def synthetic_labels() -> pd.DataFrame:
    return pd.DataFrame([dict(unique_id=s, trend=t, change=c, confidence=0.7, yoy="up" if c > 0 else "down", model="best")
                         for s, (t, c) in TRENDS.items()])


def _write_run(folder, frames: dict, config: dict) -> None:
    folder.mkdir(parents=True)
    for name, frame in frames.items():
        frame.to_parquet(folder / name, index=False)
    (folder / "config.json").write_text(json.dumps(config))


def build_store(root, images_dir, with_styles=True, with_forecast=True, with_renders=True) -> Store:
    store = Store(root)
    images_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for s in STYLES:
        paths[s] = []
        for i in range(3):
            path = images_dir / f"style{s}-{i}.png"
            Image.new("RGB", (120, 160), color=(40 * s + 20, 30 * i + 50, 200 - 40 * s)).save(path)
            paths[s].append(str(path))
    with store.catalog() as db:
        for s, files in paths.items():
            for i, path in enumerate(files):
                db.execute(
                    "INSERT INTO images (image_id, path, source, posted_at, date_origin, width, height, phash, duplicate_of, caption, ingested_at)"
                    " VALUES (?, ?, ?, ?, 'path', 120, 160, '0', ?, ?, ?)",
                    [f"id{s}{i}", path, f"src{i % 2}", periods()[i * 3] if i < 2 else None, "id00" if (s, i) == (0, 1) else None, BAIT, utcnow()],
                )
        db.execute("INSERT INTO rejects VALUES ('bad.jpg', 'ingest', 'corrupt', 'truncated', ?)", [utcnow()])
        db.execute("INSERT INTO rejects VALUES ('x.txt', 'ingest', 'not_an_image', NULL, ?)", [utcnow()])
        db.execute("INSERT INTO files VALUES ('copy.png', 10, 0, 'id00', 'exact_duplicate')")
    if with_styles:
        series = synthetic_series()
        styles = pd.DataFrame([dict(style_id=s, name=n, size=3, share=0.25, centroid=[0.0, 1.0],
                                    representatives=[f"id{s}{i}" for i in range(3)], representative_paths=paths[s])
                               for s, n in STYLES.items()])
        rng = np.random.default_rng(0)
        style_map = pd.DataFrame([dict(image_id=f"p{k}", x=float(rng.normal(s * 3)), y=float(rng.normal()), style_id=s,
                                       ds=periods()[k % 12]) for k, s in enumerate(list(STYLES) * 10 + [-1])])
        _write_run(store.root / "styles" / "20240101-000000",
                   {"styles.parquet": styles, "series.parquet": series, "map.parquet": style_map},
                   {"encoder": "effnet-lite0", "period": "W"})
    if with_forecast:
        _write_run(store.root / "forecasts" / "20240101-000100",
                   {"forecast.parquet": synthetic_forecasts(synthetic_series()), "backtests.parquet": synthetic_backtests(),
                    "labels.parquet": synthetic_labels()},
                   {"styles_run": "20240101-000000", "horizon": 4})
    if with_renders:
        folder = store.root / "renders" / "20240101-000200"
        folder.mkdir(parents=True)
        index = []
        for s, (trend, change) in TRENDS.items():
            files = []
            for j in range(2):
                Image.new("RGB", (64, 64), color=(200, 60 * j, 50 * s)).save(folder / f"style{s}-{j}.png")
                files.append(f"style{s}-{j}.png")
            index.append(dict(style_id=s, name=STYLES[s], trend=trend, change=change, files=files, grid=files[0]))
        (folder / "index.json").write_text(json.dumps(index))
        (folder / "config.json").write_text("{}")
        designs = store.root / "designs" / "20240101-000300"
        designs.mkdir(parents=True)
        Image.new("RGB", (64, 64), "navy").save(designs / "design-1.png")
        (designs / "index.json").write_text(json.dumps({"kind": "restyle", "targets": [{"kind": "style", "label": BAIT}],
                                                        "files": [{"file": "design-1.png", "rank": 1, "score": 0.8}]}))
        (designs / "config.json").write_text("{}")
    return store


@pytest.fixture
def full_store(tmp_path):
    return build_store(tmp_path / "store", tmp_path / "images")


@pytest.fixture
def ingest_only_store(tmp_path):
    return build_store(tmp_path / "store", tmp_path / "images", with_styles=False, with_forecast=False, with_renders=False)


@pytest.fixture
def synthetic():
    """The builders and constants above, for tests (importlib mode keeps conftest off sys.path)."""
    import types

    return types.SimpleNamespace(
        BAIT=BAIT, STYLES=STYLES, TRENDS=TRENDS, series=synthetic_series, forecasts=synthetic_forecasts,
        backtests=synthetic_backtests, labels=synthetic_labels, build_store=build_store,
    )


LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


def chromium_binary() -> str | None:
    import shutil
    from pathlib import Path

    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium():
    """Open a report in headless Chromium: ``with chromium(path) as page:``; fails the test on any page error."""
    import contextlib

    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary found (install Debian's `chromium` to run the browser tests)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=LAUNCH_ARGS)

        @contextlib.contextmanager
        def open_page(path, width: int = 1400):
            page = browser.new_page(viewport={"width": width, "height": 900})
            problems = []
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
            try:
                yield page
            finally:
                page.close()
            assert problems == []

        yield open_page
        browser.close()
