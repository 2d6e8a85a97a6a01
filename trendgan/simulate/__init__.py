"""Simulated corpora with known ground truth, for demos, tests and evaluation.

``simulate(out, scenario=None, seed=0)`` writes dated image folders, a ``manifest.csv`` ready for
`trendgan ingest`, ``labels.csv`` (each image's true label) and ``truth.json`` (each label's true share per period,
its counts and its true trend label). The pictures are either drawn by the project's own garment renderer
(offline, no data needed) or dealt from a labelled set (Fashion-MNIST IDX files, or a folder with a CSV of labels);
a TOML scenario gives each label a popularity curve (see ``trendgan.simulate.scenario``).

>>> from trendgan.simulate import simulate
>>> result = simulate("demo-corpus", periods=20, per_period=10)      # doctest: +SKIP
>>> result.images, result.trends["green solid sneaker"]             # doctest: +SKIP
(207, 'emerging')
"""

from __future__ import annotations

import datetime as dt
import os

from trendgan.simulate.corpus import (
    CorpusPlan,
    SimulateError,
    SimulationResult,
    load_truth,
    plan_corpus,
    simulate,
    truth_document,
    truth_series,
)
from trendgan.simulate.curves import SHAPES, TRENDS, Curve, period_volumes, sample_counts, shares_from_weights
from trendgan.simulate.garments import GARMENTS, PALETTE, PATTERNS, GarmentStyle, garment_grid, parse_style, render_garment
from trendgan.simulate.labelled import read_fashion_mnist, read_idx, read_labelled_folder
from trendgan.simulate.scenario import DEMO_SCENARIO, Scenario, load_scenario

__all__ = [
    "simulate", "simulate_garments", "simulate_scenario", "SimulationResult", "SimulateError", "CorpusPlan",
    "plan_corpus", "truth_document", "load_truth", "truth_series", "load_scenario", "Scenario", "DEMO_SCENARIO",
    "Curve", "SHAPES", "TRENDS", "shares_from_weights", "period_volumes", "sample_counts",
    "render_garment", "garment_grid", "parse_style", "GarmentStyle", "PALETTE", "PATTERNS", "GARMENTS",
    "read_fashion_mnist", "read_idx", "read_labelled_folder",
]


def simulate_garments(
    out: str | os.PathLike,
    start: str | dt.date = "2024-01-01",
    end: str | dt.date | None = None,
    period: str = "W",
    per_period: int = 40,
    scenario: str | os.PathLike | dict | None = None,
    size: int = 64,
    seed: int = 0,
    periods: int | None = None,
    overwrite: bool = False,
) -> SimulationResult:
    """Drawn garments over ``start``..``end`` (or ``periods`` periods): the demo's styles and curves unless a
    ``scenario`` (path or dict) gives others."""
    from trendgan.config import load_toml

    if scenario is None:
        table = dict(DEMO_SCENARIO)
    elif isinstance(scenario, dict):
        table = dict(scenario)
    else:
        table = load_toml(scenario)
    table.update(start=str(start), period=period, per_period=per_period, size=size)
    if end is not None and periods is None:
        table.pop("periods", None)
        table["end"] = str(end)
    if periods is not None:
        table["periods"] = periods
    if table.get("images", {}).get("kind", "garments") != "garments":
        raise SimulateError("simulate_garments draws garments; use simulate_scenario for a labelled image set")
    return simulate(out, table, seed=seed, overwrite=overwrite)


def simulate_scenario(
    out: str | os.PathLike,
    scenario_toml: str | os.PathLike | dict,
    labelled: str | os.PathLike | None = None,
    seed: int = 0,
    overwrite: bool = False,
    **overrides,
) -> SimulationResult:
    """A scenario over a labelled set; ``labelled`` replaces the scenario's ``[images] path`` (the Fashion-MNIST
    folder, or the folder holding the photos and their CSV)."""
    return simulate(out, scenario_toml, seed=seed, data=labelled, overwrite=overwrite, **overrides)
