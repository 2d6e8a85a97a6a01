"""The HERMES protocol (David, Bellot, Le Corff, TMLR 2023) on weekly fashion-trend series.

The last 52 weeks are the test, horizon 52, season 52. MASE per series with the seasonal-naive denominator over
the training part, averaged; and the accuracy of the 3-class year-on-year label (forecast-year mean vs last
training year's mean: > +5 % up, < -5 % down, else flat). Prints one JSON object; progress goes to stderr.

    python benchmarks/hermes.py                       # the 50 dev series in ../shared/data/hermes-f1-dev
    python benchmarks/hermes.py --main F1.csv --signal FF.csv

CSV shape: first column the week, then one column per series; the signal file has the same columns.
Nothing here is tuned per series: trendgan's configuration is its default (ensemble weights and the leading-signal
correction are learnt on backtest windows inside the training part only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "data" / "hermes-f1-dev"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def long_frame(main: pd.DataFrame, signal: pd.DataFrame | None) -> pd.DataFrame:
    frame = main.rename_axis("ds").reset_index().melt(id_vars="ds", var_name="unique_id", value_name="y")
    if signal is not None:
        lead = signal.rename_axis("ds").reset_index().melt(id_vars="ds", var_name="unique_id", value_name="y_leading")
        frame = frame.merge(lead, on=["ds", "unique_id"], how="left")
    return frame


def scores(train: np.ndarray, test: np.ndarray, forecast: np.ndarray, season: int = 52) -> dict:
    scale = np.mean(np.abs(train[:, season:] - train[:, :-season]), axis=1)
    mase = np.mean(np.abs(test - forecast), axis=1) / scale
    last_year = train[:, -season:].mean(axis=1)

    def label(values):
        change = values.mean(axis=1) / last_year - 1
        return np.where(change > 0.05, "up", np.where(change < -0.05, "down", "flat"))

    return {"mase": round(float(np.mean(mase)), 4), "accuracy": round(float(np.mean(label(forecast) == label(test))), 4)}


def holt_winters(train: np.ndarray, h: int, season: int) -> np.ndarray:
    """statsmodels ExponentialSmoothing with an additive season: the ETS reference of the protocol."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y in train:
            out.append(ExponentialSmoothing(y, seasonal="add", seasonal_periods=season).fit().forecast(h))
    return np.asarray(out)


def trendgan_forecast(frame: pd.DataFrame, ids, h: int, models, windows: int, use_leading: bool, n_jobs: int) -> dict:
    from trendgan.forecast import forecast_frame

    result = forecast_frame(frame, horizon=h, season_length=52, period="W", models=models, backtest_windows=windows,
                            reconcile=False, use_leading="auto" if use_leading else False, n_jobs=n_jobs)
    wide = {}
    for model, rows in result.forecasts.groupby("model"):
        wide[model] = rows.pivot(index="unique_id", columns="ds", values="mean").loc[ids].to_numpy()
    return {"forecasts": wide, "summary": result.summary}


def is_dev(path: Path) -> bool:
    """Does this file hold exactly the 50 dev series, on which the reference figures were measured?"""
    import filecmp

    dev = DEV / "f1_main_50_dev.csv"
    try:
        return dev.exists() and filecmp.cmp(path, dev, shallow=False)
    except OSError:
        return False


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--main", type=Path, default=DEV / "f1_main_50_dev.csv", help="CSV of the series (week x series)")
    parser.add_argument("--signal", type=Path, default=DEV / "f1_fashion_forward_50_dev.csv",
                        help="CSV of the fashion-forward signal, same columns; 'none' to skip")
    parser.add_argument("--test-weeks", type=int, default=52)
    parser.add_argument("--windows", type=int, default=3, help="backtest windows inside the training part")
    parser.add_argument("--models", default="snaive,ses,theta,damped,ensemble")
    parser.add_argument("--skip-ets", action="store_true", help="skip the statsmodels Holt-Winters reference (slow on many series)")
    parser.add_argument("--jobs", type=int, default=-1)
    args = parser.parse_args(argv)

    if not args.main.exists():
        parser.error(f"{args.main} not found (the dev series live in ../shared/data/hermes-f1-dev)")
    main_frame = pd.read_csv(args.main, index_col=0, parse_dates=True)
    signal = None
    if str(args.signal).lower() != "none":
        signal = pd.read_csv(args.signal, index_col=0, parse_dates=True).reindex(index=main_frame.index, columns=main_frame.columns)
    h = args.test_weeks
    train, test = main_frame.iloc[:-h], main_frame.iloc[-h:]
    ids = list(main_frame.columns)
    Y, A = train.to_numpy().T, test.to_numpy().T
    log(f"{len(ids)} series, {len(train)} training weeks, {h} test weeks")

    report = {"series": len(ids), "train_weeks": len(train), "test_weeks": h, "season": 52}
    report["snaive"] = scores(Y, A, np.tile(Y[:, -52:], (1, int(np.ceil(h / 52))))[:, :h])
    if not args.skip_ets:
        t0 = time.perf_counter()
        report["ets"] = scores(Y, A, holt_winters(Y, h, 52))
        report["ets"]["seconds"] = round(time.perf_counter() - t0, 2)
        log(f"ets {report['ets']}")

    models = tuple(args.models.split(","))
    t0 = time.perf_counter()
    plain = trendgan_forecast(long_frame(train, None), ids, h, models, args.windows, False, args.jobs)
    report["trendgan"] = scores(Y, A, plain["forecasts"]["best"])
    report["trendgan"]["seconds"] = round(time.perf_counter() - t0, 2)
    report["trendgan"]["models"] = {m: scores(Y, A, f)["mase"] for m, f in plain["forecasts"].items() if m != "best"}
    report["trendgan"]["ensemble_weights"] = {k: round(v, 3) for k, v in plain["summary"]["ensemble_weights"].items()}
    log(f"trendgan without signal {report['trendgan']['mase']}")
    if signal is not None:
        t0 = time.perf_counter()
        lead = trendgan_forecast(long_frame(train, signal.iloc[:-h]), ids, h, models, args.windows, True, args.jobs)
        report["trendgan_signal"] = scores(Y, A, lead["forecasts"]["best"])
        report["trendgan_signal"]["seconds"] = round(time.perf_counter() - t0, 2)
        report["trendgan_signal"]["leading"] = lead["summary"]["leading"]
        log(f"trendgan with signal {report['trendgan_signal']['mase']}")
    if is_dev(args.main):
        # Published and measured figures for the dev series (../shared/data/README.md); they say nothing of other files.
        report["reference"] = {"snaive": 0.8634, "ets": 0.7624, "tbats_authors": 0.7417, "hermes_published_100": 0.7368}
    print(json.dumps(report, default=float))
    return report


if __name__ == "__main__":
    main()
