"""How good is a GAN: metrics in a registry (like stylegan2-ada's ``metric_main``), computed in the encoder's space,
and the same questions asked of an independent judge (``trendgan.gan.judge``).

- ``frechet_distance``: the Frechet distance between Gaussians fitted to real and generated features (FID when
  the features are Inception's; here the store's encoder).
- ``precision_recall``: Kynkaanniemi et al. 2019; the share of generated images inside the real k-NN manifold
  (fidelity) and of real images inside the generated one (coverage).
- ``conditional_consistency``: how often a render's nearest style centroid is the style it was conditioned on.

The encoder's space flatters a generator trained against the same network's features (a projected discriminator on
effnet-lite0, with an effnet-lite0 store), so ``evaluate_gan`` also fits a judge: a small CNN trained from scratch
on the store's real images and their labels (the styles run's styles, or a labels CSV), and reports
``judge_frechet_distance``, ``judge_precision``, ``judge_recall``, ``judge_inception_score``,
``judge_conditional_accuracy`` and ``judge_shape_accuracy`` (luminance only) in its space, plus pixel-space checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from trendgan.errors import GanError
from trendgan.gan.distances import _features, _unit_rows, frechet_distance, precision_recall


def conditional_consistency(fake: np.ndarray, conditioned_on: np.ndarray, centroids: np.ndarray) -> float:
    """Share of generated rows whose nearest centroid (cosine) is row ``conditioned_on[i]`` of ``centroids``."""
    fake, centroids = _features(fake, "fake"), _features(centroids, "centroids")
    nearest = np.argmax(_unit_rows(fake) @ _unit_rows(centroids).T, axis=1)
    return float(np.mean(nearest == np.asarray(conditioned_on)))


@dataclass
class MetricInputs:
    """What a registered metric may use: real and generated features, and optionally style conditioning."""

    real: np.ndarray
    fake: np.ndarray
    style_fake: np.ndarray | None = None          # features of renders conditioned on style centroids
    style_index: np.ndarray | None = None         # which centroid row each of those renders was conditioned on
    centroids: np.ndarray | None = None


def _fd(inputs: MetricInputs) -> dict:
    return {"frechet_distance": frechet_distance(inputs.real, inputs.fake)}


def _pr(inputs: MetricInputs) -> dict:
    return precision_recall(inputs.real, inputs.fake)


def _cc(inputs: MetricInputs) -> dict:
    if inputs.centroids is None or inputs.style_fake is None or len(inputs.centroids) < 2:
        return {}  # needs a styles run with at least two styles
    return {"conditional_consistency": conditional_consistency(inputs.style_fake, inputs.style_index, inputs.centroids)}


METRICS: dict[str, Callable[[MetricInputs], dict]] = {
    "frechet_distance": _fd,
    "precision_recall": _pr,
    "conditional_consistency": _cc,
}


def compute_metrics(inputs: MetricInputs, names=None) -> dict:
    names = list(names or METRICS)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise GanError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    values = {}
    for name in names:
        values.update(METRICS[name](inputs))
    return values


# --------------------------------------------------------------------------- on a store


@dataclass
class EvaluationResult:
    folder: Path
    step: int
    encoder_key: str
    n_real: int
    n_fake: int
    values: dict = field(default_factory=dict)
    judge: dict | None = None   # which judge scored the judge_* values (see trendgan.gan.judge.Judge.describe)


JUDGE_MAX_IMAGES = 5000  # real images read to fit the judge (a sample beyond this: a few minutes on a CPU at most)


def evaluate_gan(store, run: str | None = None, n: int = 1000, metrics=None, seed: int = 0, device: str = "cpu",
                 styles_run: str | None = None, encoder=None, judge: str | None = "styles") -> EvaluationResult:
    """Render ``n`` images conditioned on ``n`` real images' vectors and compare their embeddings with those real
    images' embeddings at the render's size; with a styles run, also render each style's centroid for conditional
    consistency. Appends the values to the GAN run's ``metrics.jsonl``.

    The real images are read again and shrunk to the render size before embedding: compared with vectors of the
    full-size originals, every 32 px render fell outside the real manifold (precision and recall 0 on the demo store
    whatever the generator did), which measured the resolution, not the GAN.

    ``encoder``: any object with ``embed_images(list[PIL.Image]) -> (N, D)``; default the run's encoder from
    ``trendgan.embed.get_encoder``.

    ``judge``: ``"styles"`` fits the independent judge on the styles run's assignments (skipped with a note when
    there is no styles run), a path to a CSV with columns ``path,label`` (paths relative to the CSV, as
    ``trendgan simulate`` writes ``labels.csv``) fits it on those labels, ``None`` skips it.
    """
    from PIL import Image

    from trendgan.embed import get_encoder, load_vectors
    from trendgan.gan.sampling import load_generator
    from trendgan.runs import GanRun, add_metrics
    from trendgan.store import Store, utcnow

    store = store if isinstance(store, Store) else Store(store)
    store.require()
    if n < 8:
        raise GanError("evaluate with at least 8 images (-n); a few hundred or more give stable numbers")
    renderer = load_generator(store, run, device=device)
    encoder = encoder or get_encoder(renderer.encoder_key)
    image_ids, vectors = load_vectors(store, renderer.encoder_key)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(vectors), size=min(n, len(vectors)), replace=False)
    real = _embed(encoder, _real_at_render_size(store, [image_ids[i] for i in picks], renderer.image_size), Image)
    fake = _embed(encoder, renderer.render(vectors[picks], seed=seed), Image)
    inputs = MetricInputs(real=real, fake=fake)
    centroids = _style_centroids(store, styles_run, renderer.cond_dim)
    if centroids is not None and len(centroids) >= 2:
        per_style = max(1, n // len(centroids))
        inputs.style_fake = _embed(encoder, renderer.render(centroids, seed=seed + 1, per_condition=per_style), Image)
        inputs.style_index = np.repeat(np.arange(len(centroids)), per_style)
        inputs.centroids = centroids
    values = compute_metrics(inputs, metrics)
    judged = None
    if judge:
        judged, judge_values = _judge_renders(store, renderer, judge, styles_run, image_ids, vectors, picks, seed)
        values.update(judge_values)
    add_metrics(store, GanRun(renderer.run), {"event": "evaluate", "at": utcnow(), "step": renderer.step,
                                              "n": len(real), "seed": seed,
                                              "truncation": renderer.truncation,
                                              **values, "judge": judged},
                command="evaluate-gan")
    return EvaluationResult(folder=renderer.run, step=renderer.step, encoder_key=renderer.encoder_key,
                            n_real=len(real), n_fake=len(fake), values=values, judge=judged)


def _judge_renders(store, renderer, judge: str, styles_run, image_ids, vectors, picks, seed: int):
    """Fit the independent judge on labelled real images (80 %) and score renders in its space."""
    from trendgan.gan.judge import Judge, conditional_scores, judge_scores, pixel_scores, shape_judge

    from trendgan.errors import StageNotRunError

    try:
        labels, source = _judge_labels(store, judge, styles_run)
    except (StageNotRunError, FileNotFoundError) as exc:
        if judge != "styles" or styles_run:
            raise
        return {"judge": None, "skipped": f"no styles run with assignments to label real images ({exc})"}, {}
    index = {image_id: i for i, image_id in enumerate(image_ids)}
    labelled = [(image_id, label) for image_id, label in labels.items() if image_id in index]
    if len({label for _, label in labelled}) < 2:
        return {"judge": None, "skipped": f"{source}: fewer than two labels among the embedded images"}, {}
    rng = np.random.default_rng(seed)
    if len(labelled) > JUDGE_MAX_IMAGES:
        labelled = [labelled[i] for i in sorted(rng.choice(len(labelled), JUDGE_MAX_IMAGES, replace=False))]
    images = _real_at_render_size(store, [i for i, _ in labelled], renderer.image_size, keep_order=True)
    keep = [j for j, image in enumerate(images) if image is not None]
    images = np.stack([images[j] for j in keep])
    ids = [labelled[j][0] for j in keep]
    y = np.asarray([labelled[j][1] for j in keep], dtype=object)
    order = rng.permutation(len(images))
    held, fit = order[: len(order) // 5], order[len(order) // 5 :]
    colour = Judge(name=f"cnn on {source}", seed=seed).fit(images[fit], y[fit])
    shape = shape_judge(f"cnn on {source}, luminance only", seed).fit(images[fit], y[fit])
    described = {**colour.describe(), "labels": source, "fitted_on": len(fit),
                 "held_out_accuracy": colour.accuracy(images[held], y[held]) if len(held) else None,
                 "shape_held_out_accuracy": shape.accuracy(images[held], y[held]) if len(held) else None,
                 "shape_members": shape.members, "shape_member_seeds": [j.seed for j in shape.judges_],
                 "shape_held_out_accuracy_members": shape.member_accuracies(images[held], y[held]) if len(held) else None}
    label_vectors = vectors[[index[i] for i in ids]]
    classes = colour.classes
    centroids = np.stack([label_vectors[y == c].mean(axis=0) for c in classes])
    per_class = max(1, min(100, len(picks) // len(classes)))
    renders = renderer.render(centroids, seed=seed + 2, per_condition=per_class)
    conditional = conditional_scores(colour, renders, np.repeat(np.asarray(classes, dtype=object), per_class), shape)
    fakes = renderer.render(vectors[picks], seed=seed)
    values = {f"judge_{k}": v for k, v in judge_scores(colour, images, fakes).items()}
    values["judge_conditional_accuracy"] = conditional["conditional_accuracy"]
    values["judge_shape_accuracy"] = conditional["shape_accuracy"]
    values.update(pixel_scores(images, fakes, seed=seed))
    described["conditional_accuracy_per_class"] = conditional["conditional_accuracy_per_class"]
    described["shape_accuracy_members_per_class"] = conditional.get("shape_accuracy_members_per_class", {})
    return described, values


def _judge_labels(store, judge: str, styles_run) -> tuple[dict, str]:
    """{image_id: label} and a description of where the labels came from."""
    import pandas as pd

    if judge != "styles":
        path = Path(judge).expanduser()
        if not path.is_file():
            raise GanError(f"--judge should be 'styles' or a CSV of path,label; {path} is not a file")
        table = pd.read_csv(path)
        if not {"path", "label"} <= set(table.columns):
            raise GanError(f"{path} needs columns path and label (as a simulated corpus's labels.csv has)")
        from trendgan.gan.train import _catalog_paths

        by_path = {str(Path(p).resolve()): i for i, p in _catalog_paths(store).items()}
        root = path.parent.resolve()
        labels = {}
        for raw, label in zip(table["path"], table["label"]):
            image_id = by_path.get(str((root / str(raw)).resolve())) or by_path.get(str(Path(str(raw)).resolve()))
            if image_id:
                labels[image_id] = str(label)
        return labels, f"labels in {path.name}"
    from trendgan.styles import load_styles

    run = load_styles(store, styles_run)
    assignments = run.assignments
    assignments = assignments[assignments["style_id"] >= 0]
    return dict(zip(assignments["image_id"], assignments["style_id"].astype(int))), f"styles run {run.folder.name}"


def _real_at_render_size(store, image_ids: list[str], size: int, keep_order: bool = False):
    """uint8 (N, size, size, 3): the catalog's images, cropped and resized as the GAN was trained on them.
    ``keep_order``: a list with one entry per id instead, None where the image cannot be read."""
    from trendgan.gan.train import _catalog_paths, _read_square, _resolve

    paths = _catalog_paths(store)
    if keep_order:
        return [_read_square(_resolve(store, paths[i]), size) if i in paths else None for i in image_ids]
    images = [_read_square(_resolve(store, paths[i]), size) for i in image_ids if i in paths]
    images = [image for image in images if image is not None]
    if len(images) < 2:
        raise GanError(f"only {len(images)} of the {len(image_ids)} real images picked for comparison could be read; "
                       "are the image folders still where they were ingested from?")
    return np.stack(images)


def _embed(encoder, images: np.ndarray, Image) -> np.ndarray:
    vectors = encoder.embed_images([Image.fromarray(image) for image in images])
    return np.asarray(vectors, dtype=np.float64)


def _style_centroids(store, styles_run, width: int):
    from trendgan.errors import StageNotRunError
    from trendgan.runs import StylesRun

    try:
        styles = StylesRun.open(store, styles_run).styles
    except StageNotRunError:
        if styles_run:
            raise
        return None
    styles = styles[styles["style_id"] >= 0]
    if not len(styles):
        return None
    centroids = np.stack(styles["centroid"].to_numpy()).astype(np.float64)
    return centroids if centroids.shape[1] == width else None
