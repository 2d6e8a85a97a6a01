"""``design_for``: new garments for one person, from what they liked, optionally pulled toward what will trend."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from trendgan.console import escape, say
from trendgan.design.images import open_image
from trendgan.design import models
from trendgan.design.output import write_designs_run
from trendgan.design.targets import TEXT_NEEDS_CLIP, check_same_space, load_styles_table
from trendgan.design.vectors import cosine, normalise
from trendgan.errors import DesignError
from trendgan.runs import ForecastRun
from trendgan.store import Store

PROMISING = ("emerging", "rising")


@dataclass
class TrendDirection:
    """Where the forecast says fashion is going: confidence-weighted centroid of the most promising styles."""

    vector: np.ndarray
    styles: list[dict]  # style_id, name, trend, change, confidence, weight
    forecast_run: str


@dataclass
class DesignResult:
    folder: Path
    files: list[dict] = field(default_factory=list)  # file, rank, score, cos_taste, cos_trend
    trend_styles: list[dict] = field(default_factory=list)
    candidates: int = 0


def design_for(store: Store | str, liked: Sequence[str | Path] = (), prompt: str | None = None, trend_weight: float = 0.0,
               n: int = 8, seed: int = 0, *, candidates_per_design: int = 4, top_styles: int = 3,
               forecast_run: str | None = None, gan_run: str | None = None, device: str = "auto", renderer=None,
               encoder=None) -> DesignResult:
    """Render ``n`` designs for a person and write ``designs/<run>/``.

    Their taste is the normalised mean embedding of the ``liked`` images (plus ``prompt`` with a CLIP encoder).
    ``trend_weight`` (0..1) pulls the condition toward the forecast's most promising styles. ``n *
    candidates_per_design`` renders are drawn with different z; each is embedded and scored
    ``cos(render, taste) + trend_weight * cos(render, trend)``, and the best ``n`` are kept.
    """
    store = store if isinstance(store, Store) else Store(store)
    _check_request(liked, prompt, trend_weight, n, candidates_per_design)
    images = [open_image(path) for path in liked]  # before any model loads: a bad file fails fast, naming itself
    renderer = renderer if renderer is not None else models.load_renderer(store, gan_run, device)
    encoder = encoder if encoder is not None else models.load_encoder(renderer.encoder_key, device)

    taste = person_taste(encoder, images, prompt)
    trend = trend_direction(store, forecast_run, top_styles, renderer.encoder_key) if trend_weight > 0 else None
    condition = normalise((1 - trend_weight) * taste + trend_weight * trend.vector) if trend else taste

    candidates = n * candidates_per_design
    say(f"rendering {candidates} candidates and keeping the best {n}")
    pixels = renderer.render(condition[None, :].astype(np.float32), seed=seed, per_condition=candidates)
    pictures = _to_pil(pixels)
    vectors = encoder.embed_images(pictures)
    cos_taste = cosine(vectors, taste)
    cos_trend = cosine(vectors, trend.vector) if trend else None
    scores = cos_taste + (trend_weight * cos_trend if trend else 0.0)
    order = np.argsort(-scores, kind="stable")[:n]

    files, kept = [], {}
    for rank, i in enumerate(order, start=1):
        name = f"design-{rank:02d}.png"
        kept[name] = pictures[i]
        entry = {"file": name, "rank": rank, "candidate": int(i), "score": float(scores[i]), "cos_taste": float(cos_taste[i])}
        if trend:
            entry["cos_trend"] = float(cos_trend[i])
        files.append(entry)
    index = {
        "kind": "design",
        "inputs": {"liked": [str(p) for p in liked], "prompt": prompt},
        "targets": [{"kind": "taste", "label": "mean of liked images" + (" and prompt" if prompt else "")}]
        + ([{"kind": "trend", "label": ", ".join(s["name"] for s in trend.styles), "styles": trend.styles,
             "forecast_run": trend.forecast_run}] if trend else []),
        "trend_weight": trend_weight,
        "seed": seed,
        "encoder": renderer.encoder_key,
        "candidates": candidates,
        "candidate_scores": {"mean": float(scores.mean()), "max": float(scores.max()), "min": float(scores.min())},
        "score": "cos_taste + trend_weight * cos_trend",
        "files": files,
    }
    config = {"liked": [str(p) for p in liked], "prompt": prompt, "trend_weight": trend_weight, "n": n, "seed": seed,
              "candidates_per_design": candidates_per_design, "top_styles": top_styles, "forecast_run": forecast_run,
              "gan_run": gan_run}
    inputs = {"encoder": renderer.encoder_key, "gan_run": _run_name(renderer),
              "forecast_run": trend.forecast_run if trend else None}
    folder = write_designs_run(store, "design", kept, index, config, inputs)
    return DesignResult(folder=folder, files=files, trend_styles=trend.styles if trend else [], candidates=candidates)


def person_taste(encoder, images: list, prompt: str | None = None) -> np.ndarray:
    """The person's taste: the normalised mean of their liked images' embeddings, and their prompt if any."""
    parts = []
    if images:
        parts.append(normalise(normalise(encoder.embed_images(images)).mean(axis=0)))
    if prompt:
        if not getattr(encoder, "has_text", False):
            raise DesignError(f"--prompt: {TEXT_NEEDS_CLIP}")
        parts.append(normalise(encoder.embed_texts([prompt])[0]))
    return normalise(np.sum(parts, axis=0))


def trend_direction(store: Store, forecast_run: str | None = None, top: int = 3, encoder_key: str | None = None) -> TrendDirection:
    """Confidence-weighted centroid of the ``top`` emerging or rising styles of a forecast run (latest by default)."""

    forecast = ForecastRun.open(store, forecast_run)
    labels = forecast.labels
    promising = labels[labels["trend"].isin(PROMISING)].copy()
    if promising.empty:
        raise DesignError(f"forecast run {forecast.name} expects no style to emerge or rise; use --trend-weight 0")
    promising["rank_key"] = promising["confidence"].astype(float) * promising["change"].astype(float).clip(lower=0).add(1)
    promising = promising.sort_values(["rank_key", "unique_id"], ascending=[False, True]).head(top)

    styles = load_styles_table(store, forecast.styles_run)
    check_same_space(styles.encoder_key, encoder_key, f"styles run {styles.run}")
    by_id = {int(row.style_id): row for row in styles.frame.itertuples(index=False)}
    chosen, weights, vectors = [], [], []
    for row in promising.itertuples(index=False):
        style = by_id.get(int(row.unique_id))
        if style is None:
            continue
        weight = max(float(row.confidence), 1e-3)  # a zero-confidence forecast still names the direction
        vectors.append(normalise(np.asarray(style.centroid, dtype=np.float32)))
        weights.append(weight)
        chosen.append({"style_id": int(row.unique_id), "name": str(style.name), "trend": str(row.trend),
                       "change": float(row.change), "confidence": float(row.confidence), "weight": weight})
    if not chosen:
        raise DesignError(f"forecast run {forecast.name} names styles missing from styles run {styles.run}; "
                          "re-run `trendgan forecast`")
    say("trend direction: " + ", ".join(escape(s["name"]) for s in chosen))
    return TrendDirection(vector=normalise(np.average(vectors, axis=0, weights=weights)), styles=chosen,
                          forecast_run=forecast.name)


def _run_name(renderer) -> str | None:
    run = getattr(renderer, "run", None)
    return Path(run).name if run else None


def _check_request(liked, prompt, trend_weight, n, candidates_per_design) -> None:
    if not liked and not prompt:
        raise DesignError("give at least one liked image with --like (or a --prompt with a CLIP encoder)")
    if not 0.0 <= float(trend_weight) <= 1.0:
        raise DesignError(f"--trend-weight must be between 0 and 1, got {trend_weight}")
    if n < 1 or candidates_per_design < 1:
        raise DesignError(f"--n must be at least 1, got {n}")


def _to_pil(pixels) -> list:
    from PIL import Image

    return [Image.fromarray(np.ascontiguousarray(p)) for p in np.asarray(pixels, dtype=np.uint8)]
