"""`trendgan demo`: simulate garments with known trends, run every stage on the CPU, and score what was recovered.

The demo is a pipeline (``DEMO_PIPELINE``, written out as ``pipelines/demo.toml``) run by ``trendgan.pipeline``,
followed by ``forecast_recovery``: the simulated truth against the styles and forecast the pipeline found.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from trendgan.errors import StageNotRunError
from trendgan.pipeline import PipelineResult, run_pipeline
from trendgan.runs import ForecastRun, StylesRun
from trendgan.store import Store


# The demo pipeline: what `trendgan demo` runs. pipelines/demo.toml is the same pipeline written out (a test keeps
# the two equal), so a user can copy it as the start of their own.
DEMO_PIPELINE: dict[str, Any] = {
    "store": {"path": "trendgan-demo"},
    "pipeline": {"seed": 0, "device": "cpu"},
    "simulate": {"out": "{store}/corpus", "per_period": 20, "overwrite": True},
    "ingest": {"paths": ["{store}/corpus"], "manifest": "{store}/corpus/manifest.csv", "leading_sources": ["influencers"],
               "near_duplicate_distance": -1},
    "embed": {"encoder": "effnet-lite0"},
    "styles": {"k": 8, "period": "W"},
    "forecast": {"horizon": 13},
    "train": {"config": "proj-32", "steps": 900},
    "render": {"top": 8, "per_style": 8, "trends": ["emerging", "rising", "stable", "seasonal", "declining"]},
    "report": {"out": "{store}/reports/trend-report.html", "title": "Trend report: simulated garments demo"},
}

# --quick: a smaller corpus and a shorter GAN run, for a first look and for tests.
QUICK_OVERRIDES = ["simulate.per_period=6", "train.steps=60"]


@dataclasses.dataclass
class DemoResult:
    report: Path
    recovery: Any                  # pandas frame, one row per simulated style (see forecast_recovery)
    pipeline: PipelineResult
    seconds: float

    @property
    def labels_recovered(self) -> float:
        """Share of simulated styles whose forecast trend label equals the true one."""
        return float(self.recovery["match"].mean()) if len(self.recovery) else 0.0


def run_demo(store: Store | str | os.PathLike | None = None, out: str | os.PathLike | None = None, quick: bool = False,
             seed: int = 0, overrides: list[str] | None = None) -> DemoResult:
    """Simulate garments with known trends, run every stage on the CPU, write the report and score the forecast.

    ``store`` defaults to ``./trendgan-demo``; ``out`` is a folder (or an .html path) for the report.
    """
    started = time.perf_counter()
    changes = list(QUICK_OVERRIDES if quick else []) + [f"pipeline.seed={seed}"] + list(overrides or [])
    if out is not None:
        out = Path(out)
        target = out if out.suffix.lower() in (".html", ".htm") else out / "trend-report.html"
        changes.append(f"report.out={json.dumps(str(target.resolve()))}")
    result = run_pipeline(DEMO_PIPELINE, store=store, overrides=changes)
    corpus = Path(result.settings["simulate"]["out"])
    recovery = forecast_recovery(result.store, corpus)
    report = Path(result.settings["report"]["out"])
    return DemoResult(report=report, recovery=recovery, pipeline=result, seconds=round(time.perf_counter() - started, 1))


def forecast_recovery(store: Store | str | os.PathLike, corpus: str | os.PathLike, forecast_run: str | None = None):
    """How well the store's styles and forecast recovered a simulated corpus's truth, one row per true label.

    Each true label is matched to the style holding most of its images (``coverage``: that share of the label's
    images; ``purity``: the share of the style's images that carry the label). Columns: label, true_trend (the
    simulator's label: the forecast stage's rule on the true shares), style_id, style_name, forecast_trend, match,
    rule_trend (the same rule on the true shares over the forecast's own horizon) and rule_match, change,
    confidence, coverage, purity, share_mae (the style's observed share vs the true share per period) and
    forecast_mae (the forecast mean vs the true future share, over the held-out periods the forecast reaches).
    """
    import pandas as pd

    from trendgan.simulate import load_truth

    store = store if isinstance(store, Store) else Store(store)
    corpus = Path(corpus)
    truth = load_truth(corpus)
    forecast = ForecastRun.open(store, forecast_run)
    styles = StylesRun.open(store, forecast.styles_run)
    members = _labelled_members(store, corpus, styles.assignments)
    if members.empty:
        raise StageNotRunError(f"none of the styled images come from the corpus {corpus}; run the demo pipeline on a fresh store")
    labels = forecast.labels.set_index("unique_id")
    names = styles.styles.set_index("style_id")["name"].to_dict()
    rows = []
    for label, entry in truth["labels"].items():
        row = {"label": label, "true_trend": entry["trend"]}
        row.update(_matched_style(members, label))
        style_id = row["style_id"]
        row["style_name"] = names.get(style_id)
        known = style_id is not None and style_id in labels.index
        row["forecast_trend"] = labels.at[style_id, "trend"] if known else None
        row["change"] = float(labels.at[style_id, "change"]) if known else None
        row["confidence"] = float(labels.at[style_id, "confidence"]) if known and "confidence" in labels.columns else None
        row["match"] = row["forecast_trend"] == entry["trend"]
        row["rule_trend"] = _label_of_true_future(entry, forecast)
        row["rule_match"] = row["forecast_trend"] == row["rule_trend"]
        row["share_mae"] = _mae(styles.series, style_id, entry.get("shares", {}), "y")
        row["forecast_mae"] = _mae(_best(forecast.forecasts), style_id, entry.get("holdout_shares", {}), "mean")
        rows.append(row)
    return pd.DataFrame(rows)


def _label_of_true_future(entry: dict, forecast: ForecastRun) -> str | None:
    """The label the forecast stage's rule gives the true shares over the forecast's own horizon.

    The simulator's ``trend`` uses the same rule (``trendgan.forecast.labels.true_trends``) over all its holdout
    periods; this column differs from it only when the forecast's horizon is shorter than the holdout.
    """
    import numpy as np

    from trendgan.forecast import true_trends

    history = np.array(list(entry.get("shares", {}).values()), dtype=float)
    future = np.array(list(entry.get("holdout_shares", {}).values()), dtype=float)
    horizon = min(len(future), forecast.horizon or len(future))
    if not len(history) or horizon < 1:
        return None
    season = forecast.season_length or 1
    return str(true_trends(history[None, :], future[None, :horizon], season)[0])


def _labelled_members(store: Store, corpus: Path, assignments):
    """image_id, style_id and true label of every styled image that came from the corpus (via labels.csv)."""
    import pandas as pd

    truth_labels = pd.read_csv(corpus / "labels.csv")
    root = corpus.resolve()
    truth_labels["path"] = [str((root / p).resolve()) for p in truth_labels["path"]]
    from trendgan.ingest.catalog import image_paths

    paths = image_paths(store)
    catalog = pd.DataFrame({"image_id": list(paths), "path": [str(Path(p).resolve()) for p in paths.values()]})
    labelled = catalog.merge(truth_labels[["path", "label"]], on="path")
    return assignments[["image_id", "style_id"]].merge(labelled[["image_id", "label"]], on="image_id")


def _matched_style(members, label: str) -> dict:
    in_styles = members[members["style_id"] >= 0]
    mine = in_styles[in_styles["label"] == label]
    if mine.empty:
        return {"style_id": None, "coverage": 0.0, "purity": 0.0}
    counts = mine["style_id"].value_counts()
    style_id = counts.index[0]
    style_size = int((in_styles["style_id"] == style_id).sum())
    return {"style_id": _plain(style_id), "coverage": round(counts.iloc[0] / len(mine), 3),
            "purity": round(counts.iloc[0] / style_size, 3)}


def _mae(frame, style_id, true_shares: dict, column: str) -> float | None:
    import pandas as pd

    if style_id is None or frame is None or not true_shares:
        return None
    mine = frame[frame["unique_id"] == style_id]
    estimated = pd.Series(mine[column].to_numpy(), index=pd.to_datetime(mine["ds"]).dt.normalize())
    true = pd.Series(true_shares, dtype=float)
    true.index = pd.to_datetime(true.index)
    both = pd.concat([estimated.rename("estimated"), true.rename("true")], axis=1, join="inner").dropna()
    return round(float((both["estimated"] - both["true"]).abs().mean()), 4) if len(both) else None


def _best(forecasts):
    if forecasts is None or "model" not in forecasts.columns:
        return forecasts
    best = forecasts[forecasts["model"] == "best"]
    return best if len(best) else forecasts[forecasts["model"] == forecasts["model"].iloc[0]]


def _plain(value):
    return value.item() if hasattr(value, "item") else value
