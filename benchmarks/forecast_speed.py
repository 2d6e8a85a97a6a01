"""Seconds for the full backtest + forecast of many weekly series, and the forecast's MASE on held-out weeks.

Series are tiled from the HERMES dev series (../shared/data/hermes-f1-dev) with a random level per copy and added
noise, or simulated (seasonal + trend + noise) when that data is absent. Each series has ``--train`` weeks of
history (209 by default) plus ``--horizon`` held-out weeks for the MASE. Prints one JSON object.

    python benchmarks/forecast_speed.py                    # 1,000 series (modest)
    python benchmarks/forecast_speed.py --series 10000     # the full-size run
    python benchmarks/forecast_speed.py --series 10000 --with-signal --jobs 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "data" / "hermes-f1-dev" / "f1_main_50_dev.csv"
SIGNAL = DEV.with_name("f1_fashion_forward_50_dev.csv")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_series(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(main shares, leading shares, where they came from), (n, length) each."""
    rng = np.random.default_rng(seed)
    if DEV.exists() and SIGNAL.exists():
        base = pd.read_csv(DEV, index_col=0).to_numpy().T
        lead = pd.read_csv(SIGNAL, index_col=0).to_numpy().T
        if base.shape[1] < length:
            base, lead = np.tile(base, (1, 2)), np.tile(lead, (1, 2))
        picks = rng.integers(0, len(base), n)
        level = rng.lognormal(0, 0.5, (n, 1))

        def noisy(M):
            M = M[picks, :length]
            return np.clip(M * level + rng.normal(0, 0.15, M.shape) * M.std(axis=1, keepdims=True), 0, 1)

        return noisy(base), noisy(lead), "tiled hermes-f1-dev"
    t = np.arange(length + 26)
    level = rng.uniform(0.005, 0.05, (n, 1))
    season = level * 0.3 * np.sin(2 * np.pi * (t[None, :] + rng.integers(0, 52, (n, 1))) / 52)
    trend = level * rng.normal(0, 0.002, (n, 1)) * t[None, :]
    values = np.clip(level + season + trend + rng.normal(0, 0.1, (n, length + 26)) * level, 0, 1)
    return values[:, :length], values[:, 26:], "simulated (leading signal 26 weeks ahead)"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--train", type=int, default=209, help="weeks of history per series")
    parser.add_argument("--horizon", type=int, default=52)
    parser.add_argument("--windows", type=int, default=3, help="backtest windows")
    parser.add_argument("--models", default=None, help="comma-separated aliases (default: trendgan's defaults)")
    parser.add_argument("--jobs", type=int, default=-1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-signal", action="store_true", help="add the leading signal (y_leading) and its correction")
    args = parser.parse_args(argv)

    from trendgan.forecast import DEFAULT_MODELS, forecast_frame

    models = tuple(args.models.split(",")) if args.models else DEFAULT_MODELS
    values, leading, origin = make_series(args.series, args.train + args.horizon, args.seed)
    train, test = values[:, : args.train], values[:, args.train :]
    dates = pd.date_range("2015-01-05", periods=args.train, freq="7D")
    frame = pd.DataFrame({
        "unique_id": np.repeat(np.arange(args.series), args.train),
        "ds": np.tile(dates, args.series),
        "y": train.ravel(),
    })
    if args.with_signal:
        frame["y_leading"] = leading[:, : args.train].ravel()
    log(f"{args.series} series x {args.train} weeks ({origin}); models {','.join(models)}; {args.windows} backtest windows")
    start = time.perf_counter()
    result = forecast_frame(frame, horizon=args.horizon, period="W", models=models, backtest_windows=args.windows,
                            reconcile=False, n_jobs=args.jobs)
    seconds = time.perf_counter() - start
    best = result.forecasts[result.forecasts["model"] == "best"].sort_values(["unique_id", "ds"])
    forecast = best["mean"].to_numpy().reshape(args.series, args.horizon)
    scale = np.mean(np.abs(train[:, 52:] - train[:, :-52]), axis=1)
    ok = scale > 0
    mase = np.mean(np.abs(test - forecast), axis=1)[ok] / scale[ok]
    snaive = np.tile(train[:, -52:], (1, int(np.ceil(args.horizon / 52))))[:, : args.horizon]
    snaive_mase = np.mean(np.abs(test - snaive), axis=1)[ok] / scale[ok]
    report = {
        "series": args.series,
        "weeks": args.train,
        "horizon": args.horizon,
        "backtest_windows": result.summary["backtest_windows"],
        "models": list(models),
        "data": origin,
        "cores": os.cpu_count(),
        "seconds": round(seconds, 2),
        "series_per_second": round(args.series / seconds, 1),
        "mase_best": round(float(np.mean(mase)), 4),
        "mase_snaive": round(float(np.mean(snaive_mase)), 4),
        "failures": result.summary["failures"],
        "leading_used": bool(result.summary["leading"].get("used")),
    }
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
