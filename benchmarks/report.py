"""Time `write_report` and measure the page on a synthetic store of a given size; prints one JSON object.

Besides time and size: whether every style's expected change is the same number in the summary, the leaderboards,
the panel titles and the JSON (``number_mismatches``, 0 expected), and how the styles' garment colours fared on
the page: the smallest Delta E between two styles (kept >= 12 where lightness allows) and the largest shift from a
style's measured colour.

    python benchmarks/report.py                                   # 20 styles, 104 weeks, 5,000 map points
    python benchmarks/report.py --styles 60 --periods 260 --points 100000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def build_store(root: Path, styles: int, periods: int, points: int, seed: int):
    """A store with styles, forecast and backtest runs in the contract formats (docs/stages.md), no images."""
    import numpy as np
    import pandas as pd

    from trendgan.store import Store, utcnow

    rng = np.random.default_rng(seed)
    store = Store(root)
    with store.catalog() as db:
        db.execute("INSERT INTO images (image_id, path, source, posted_at, date_origin, width, height, phash, ingested_at) "
                   "SELECT 'id' || i, 'img' || i || '.jpg', 'feed', TIMESTAMP '2024-01-01' + INTERVAL (i % 700) DAY, "
                   "'path', 224, 224, '0', ? FROM range(?) t(i)", [utcnow(), points])
    ds = pd.date_range("2024-01-01", periods=periods, freq="W-MON")
    weights = rng.dirichlet(np.ones(styles), size=periods)
    series = pd.DataFrame([dict(unique_id=s, ds=d, y=float(weights[t, s]), count=int(weights[t, s] * 200), total=200,
                                low_volume=False, y_leading=np.nan) for t, d in enumerate(ds) for s in range(styles)])
    future = pd.date_range(ds[-1] + pd.Timedelta(weeks=1), periods=13, freq="W-MON")
    forecasts = pd.DataFrame([dict(unique_id=s, ds=d, model=m, mean=0.05, **{"lo-80": 0.03, "hi-80": 0.07, "lo-95": 0.02, "hi-95": 0.08})
                              for s in range(styles) for d in future for m in ("best", "ets", "snaive")])
    backtests = pd.DataFrame([dict(unique_id=s, model=m, window=w, mase=float(rng.uniform(0.5, 1.2)), smape=0.1,
                                   coverage_80=0.8, coverage_95=0.95) for s in range(styles) for m in ("ets", "snaive") for w in range(3)])
    trends = rng.choice(["emerging", "rising", "stable", "seasonal", "declining"], size=styles)
    labels = pd.DataFrame(dict(unique_id=range(styles), trend=trends, change=rng.normal(0, 0.4, styles),
                               change_recent=rng.normal(0, 0.3, styles), confidence=rng.uniform(0, 1, styles),
                               yoy="flat", model="ets", recent=0.05, reference=0.05))
    # garment colours as the styles stage measures them: a catalogue has many near-identical blacks, navies and whites
    base = np.array([[20, 20, 22], [28, 38, 92], [240, 240, 236], [196, 32, 40], [46, 139, 66], [214, 190, 150]])
    colours = np.clip(base[rng.integers(0, len(base), styles)] + rng.normal(0, 6, (styles, 3)), 0, 255).astype(int)
    names = pd.DataFrame(dict(style_id=range(styles), name=[f"style <{s}>" for s in range(styles)], size=10, share=1 / styles,
                              centroid=[[0.0]] * styles, representatives=[[]] * styles, representative_paths=[[]] * styles,
                              colour=["#%02x%02x%02x" % tuple(c) for c in colours]))
    style_map = pd.DataFrame(dict(image_id=[f"id{i}" for i in range(points)], x=rng.normal(size=points), y=rng.normal(size=points),
                                  style_id=rng.integers(0, styles, points), ds=rng.choice(ds, size=points)))
    for folder, frames, config in (
        ("styles/r1", {"series": series, "styles": names, "map": style_map}, {"encoder": "bench", "period": "W"}),
        ("forecasts/r1", {"forecast": forecasts, "backtests": backtests, "labels": labels}, {"styles_run": "r1"}),
    ):
        path = root / folder
        path.mkdir(parents=True)
        for name, frame in frames.items():
            frame.to_parquet(path / f"{name}.parquet", index=False)
        (path / "config.json").write_text(json.dumps(config))
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--styles", type=int, default=20)
    parser.add_argument("--periods", type=int, default=104)
    parser.add_argument("--points", type=int, default=5000, help="images on the style map (the page samples 4,000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from trendgan.report import write_report

    with tempfile.TemporaryDirectory(prefix="trendgan-report-bench-") as scratch:
        root = Path(scratch)
        print(f"building a store with {args.styles} styles x {args.periods} periods ...", file=sys.stderr)
        store = build_store(root / "store", args.styles, args.periods, args.points, args.seed)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            out = write_report(store, root / "report.html")
            times.append(time.perf_counter() - started)
        page = out.read_bytes()
        from plotly.offline import get_plotlyjs

        agreement = number_agreement(store, out)
        print(json.dumps({
            "benchmark": "report", "styles": args.styles, "periods": args.periods, "map_points": args.points,
            "seconds_best": round(min(times), 3), "seconds_median": round(sorted(times)[len(times) // 2], 3),
            "page_mb": round(len(page) / 1e6, 2), "plotly_js_mb": round(len(get_plotlyjs()) / 1e6, 2),
            "figures": page.count(b"Plotly.newPlot"), **agreement,
        }))


def number_agreement(store, out: Path) -> dict:
    """Expected change per style in the summary, leaderboards, panel titles and JSON; garment colours on the page."""
    import itertools
    import re

    from trendgan.report.calls import fmt_change
    from trendgan.report.colours import delta_e, style_colours
    from trendgan.styles import load_styles

    page = out.read_text()
    summary = dict(re.findall(r'<tr data-style-id="(\d+)" data-action="\w+">.*?class="num expected-change \w+">([^<]+)<', page))
    boards = dict(re.findall(r'<tr data-style-id="(\d+)"><td>.*?class="expected-change \w+">([^<]+)<', page))
    titles = dict(re.findall(r'#(\d+)\\u003cbr\\u003e\w+ \\u00b7 expected ([+-]\d+%)', page))
    numbers = {str(s["style_id"]): fmt_change(s["expected_change"]) for s in json.loads(out.with_suffix(".json").read_text())["styles"]}
    shown = [{summary.get(k), boards.get(k), titles.get(k), numbers.get(k)} for k in numbers]
    mismatches = sum(len(values - {None}) > 1 for values in shown)
    missing = sum(None in values for values in shown)
    styles = load_styles(store).styles
    drawn = style_colours(styles, measure_missing=False)
    measured = dict(zip(styles["style_id"], styles["colour"]))
    closest = min(delta_e(a, b) for a, b in itertools.combinations(drawn.values(), 2))
    shift = max(delta_e(drawn[s], measured[s]) for s in drawn)
    return {"styles_in_summary": len(summary), "number_mismatches": int(mismatches), "styles_missing_a_place": int(missing),
            "closest_two_style_colours_delta_e": round(closest, 1), "largest_colour_shift_delta_e": round(shift, 1)}


if __name__ == "__main__":
    main()
