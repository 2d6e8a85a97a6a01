"""Simulated style series with known trends, shared by the forecast tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def weekly_dates(n: int, start: str = "2021-01-04") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="7D")


def long_frame(shapes: dict, dates, leading: dict | None = None) -> pd.DataFrame:
    frames = []
    for style, values in shapes.items():
        frame = pd.DataFrame({"unique_id": style, "ds": dates, "y": values, "count": (np.asarray(values) * 1000).round()})
        if leading is not None:
            frame["y_leading"] = leading[style]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def trend_shapes(n: int = 156, seed: int = 0) -> dict:
    """One series per label, weekly, with small noise: the label each should get is its key."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = lambda scale: rng.normal(0, scale, n)  # noqa: E731
    ramp = np.where(t < n - 26, 0.001, 0.001 * np.exp((t - (n - 26)) * np.log(30) / 25))
    return {
        "rising": 0.08 + 0.12 * t / n + noise(0.003),
        "declining": 0.22 - 0.14 * t / n + noise(0.003),
        "emerging": np.clip(ramp + noise(0.0003), 0, None),
        "seasonal": 0.15 + 0.06 * np.sin(2 * np.pi * t / 52) + noise(0.004),
        "stable": 0.12 + noise(0.004),
    }
