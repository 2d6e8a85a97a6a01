"""Write a simulated corpus: dated image folders, a manifest for `trendgan ingest`, and the ground truth.

Layout of ``out/``::

    <source>/<YYYY-MM-DD>/post-000001.png   one image per post (.jpg for photo sets), dated by its folder
    manifest.csv                              path,date,source,caption,likes (paths relative to the manifest)
    truth.json                                the true shares, counts and trend label of every label
    labels.csv                                path,label,source,period: the true label of every image (for
                                              clustering scores; kept apart so ingest never sees labels)

``truth.json``::

    {"format": "trendgan-simulation/1", "scenario": "garments-demo", "seed": 0,
     "period": "W", "start": "2024-01-01", "end": "2025-12-22",      # first and last observed period starts
     "periods": 104, "holdout_periods": 13, "holdout_end": "2026-03-16", "images": 4620,
     "sources": {"influencers": {"weight": 0.15, "lead": 4, "leading": true, "likes": 1500, "images": 690}, ...},
     "trend_vocabulary": ["emerging", "rising", "stable", "seasonal", "declining"],
     "labels": {"red striped tee": {
         "trend": "declining",                      # the true label, in the shared vocabulary
         "curve": {"shape": "declining", "high": 1.8, "low": 0.35},
         "style": {"colour": "red", "pattern": "stripes", "garment": "tee"},   # drawn garments only
         "shares": {"2024-01-01": 0.21, ...},       # expected share of all images of each period (sums to 1)
         "leading_shares": {...},                   # expected share among leading sources (when there are any)
         "counts": {"2024-01-01": 9, ...},          # images actually written, all sources (matches the manifest)
         "holdout_shares": {"2025-12-29": 0.05, ...}  # the true future, no images written
     }, ...},
     "settings": {...}}                             # the resolved scenario

A period's expected share mixes the sources: non-leading sources follow the popularity curves as they are, a source
with ``lead = L`` follows them ``L`` periods early. Counts are multinomial draws around the expected shares, so
they scatter around them like a real feed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from trendgan.console import progress
from trendgan.errors import ConfigError, IngestError, SimulateError
from trendgan.simulate.curves import TRENDS, add_noise, period_volumes, sample_counts, shares_from_weights
from trendgan.simulate.scenario import (
    Scenario,
    load_scenario,
    month_of_year,
    period_length,
    shift_period,
)

FORMAT = "trendgan-simulation/1"


@dataclass
class Post:
    """One simulated post: which label, source and day; its file name is given when written."""

    serial: int
    period: int
    source: str
    label: int
    day: dt.date
    likes: int
    caption: str
    path: str = ""


@dataclass
class CorpusPlan:
    """Everything about a corpus except its pixels: the truth and the posts to write."""

    scenario: Scenario
    seed: int
    period_starts: list[dt.date]          # observed periods then holdout periods
    market_shares: np.ndarray             # (observed + holdout + max lead, labels): the curves as shares
    shares: np.ndarray                    # (observed + holdout, labels): expected share of all images
    leading_shares: np.ndarray | None     # (observed + holdout, labels): expected share among leading sources
    counts: np.ndarray                    # (observed, sources, labels)
    trends: list[str]
    posts: list[Post] = field(default_factory=list)

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.scenario.labels]


@dataclass
class SimulationResult:
    """What `simulate` wrote, and the numbers a summary prints."""

    out: Path
    manifest: Path
    truth: Path
    labels_csv: Path
    scenario: str
    images: int
    periods: int
    holdout_periods: int
    start: dt.date
    end: dt.date
    period: str
    trends: dict[str, str]
    sources: dict[str, int]
    leading_sources: list[str]
    seconds: float

    def ingest_command(self) -> str:
        """The `trendgan ingest` line that reads this corpus with its manifest and leading sources."""
        leading = "".join(f" --leading-source {name}" for name in self.leading_sources)
        # No post is a repost, but renders of one style are as alike as catalogue shots of one article.
        return f"trendgan ingest {self.out} --manifest {self.manifest}{leading} --near-duplicate-distance -1"


# --------------------------------------------------------------------------- planning (numbers only)


def plan_corpus(scenario: Scenario, seed: int = 0) -> CorpusPlan:
    """The true shares, the counts per period, source and label, and the posts, all from ``seed``."""
    noise_rng, volume_rng, source_rng, count_rng, post_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
    )
    observed, holdout = scenario.periods, scenario.holdout_periods
    max_lead = max(s.lead for s in scenario.sources)
    horizon = observed + holdout + max_lead
    starts = [shift_period(scenario.start, scenario.period, k) for k in range(horizon)]
    months = np.array([month_of_year(d, period_length(d, scenario.period) / 2) for d in starts])
    t = np.arange(horizon)
    curves = scenario.curves()
    weights = np.stack([c.weights(t, months, observed - 1) for c in curves], axis=1)
    market = shares_from_weights(add_noise(weights, scenario.noise, noise_rng))

    visible = observed + holdout
    source_weights = np.array([s.weight for s in scenario.sources])
    seen = np.stack([market[s.lead: s.lead + visible] for s in scenario.sources])  # (sources, periods, labels)
    shares = np.einsum("s,spl->pl", source_weights, seen)
    leading = [i for i, s in enumerate(scenario.sources) if s.leading]
    leading_shares = None
    if leading:
        lw = source_weights[leading] / source_weights[leading].sum()
        leading_shares = np.einsum("s,spl->pl", lw, seen[leading])

    volumes = period_volumes(scenario.per_period, observed, volume_rng, scenario.volume_growth, scenario.volume_variation)
    per_source = np.stack([source_rng.multinomial(n, source_weights) for n in volumes])  # (periods, sources)
    counts = np.stack(
        [sample_counts(seen[i, :observed], per_source[:, i], count_rng) for i in range(len(scenario.sources))], axis=1
    )
    trends = _true_trends(scenario, curves, shares, source_weights, observed, holdout)
    plan = CorpusPlan(scenario, seed, starts[:visible], market, shares, leading_shares, counts, trends)
    plan.posts = list(_posts(plan, post_rng))
    return plan


def _season_quarter(period: str) -> int:
    """About three months in periods: the truth's horizon when the scenario holds no holdout periods."""
    return {"W": 13, "M": 3, "D": 90}[period]


def _true_trends(scenario: Scenario, curves, shares: np.ndarray, source_weights: np.ndarray, observed: int,
                 holdout: int) -> list[str]:
    """Each label's true trend: the forecast stage's own rule (``trendgan.forecast.labels.true_trends``) on the true
    past shares and the true future taken as a perfect forecast, so the demo compares like with like.

    The future is the holdout periods; a scenario without them gets a quarter of noise-free future from the curves
    (the noise draws are left alone so the corpus stays the same for a seed).
    """
    from trendgan.periods import season_length
    from trendgan.forecast.labels import true_trends

    if holdout:
        future = shares[observed:observed + holdout]
    else:
        ahead = _season_quarter(scenario.period)
        max_lead = max(s.lead for s in scenario.sources)
        starts = [shift_period(scenario.start, scenario.period, k) for k in range(observed + ahead + max_lead)]
        months = np.array([month_of_year(d, period_length(d, scenario.period) / 2) for d in starts])
        t = np.arange(len(starts))
        market = shares_from_weights(np.stack([c.weights(t, months, observed - 1) for c in curves], axis=1))
        seen = np.stack([market[s.lead + observed: s.lead + observed + ahead] for s in scenario.sources])
        future = np.einsum("s,spl->pl", source_weights, seen)
    season = season_length(scenario.period)
    return [str(x) for x in true_trends(shares[:observed].T, future.T, season)]


# Caption templates per source. {item} is how this post names its garment (colour, pattern and garment words, in
# one of several spellings), {other} another piece of the outfit; hashtags are added after.
_CAPTIONS = {
    "influencers": ("Obsessed with this {item}", "New in: {item} [ad]", "Can't stop wearing my {item}",
                    "{item} + {other} = my uniform this week", "Link in bio for the {item}"),
    "magazine": ("The {item} is the look of the season", "Editor's pick: the {item}", "How to wear a {item} now",
                 "Ten ways with a {item}"),
    "street": ("{item} spotted downtown", "Today's fit: {item} & coffee", "{item} with {other}, errands day",
               "Caught this {item} on the tram"),
}
_GENERIC_CAPTIONS = ("{item}", "Loving this {item}", "{item} of the day", "{item} with {other}")
# Posts that never name what is worn: a real feed has many ("Sunday mood"), and naming must cope with them.
_CHATTER = ("Sunday mood", "Coffee first", "Back to the grind", "Weekend plans", "Golden hour", "Good vibes only",
            "Finally friday", "Mirror selfie", "Out and about", "City walks")
_GENERIC_TAGS = ("ootd", "fashion", "style", "outfitinspo", "whatiwore", "lookoftheday", "instafashion", "newin")
_SOURCE_TAGS = {"influencers": ("ad", "gifted", "fashionblogger"), "magazine": ("trendreport", "editorspick"),
                "street": ("streetstyle", "citystyle")}
_SEASON_TAGS = {12: "winterstyle", 1: "winterstyle", 2: "winterstyle", 3: "springlooks", 4: "springlooks",
                5: "springlooks", 6: "summerstyle", 7: "summerstyle", 8: "summerstyle", 9: "autumnvibes",
                10: "autumnvibes", 11: "autumnvibes"}
# Fashion-MNIST and other photo sets name classes, not styles: the garment they show, for captions.
_CLASS_GARMENTS = {"t-shirt/top": "tee", "trouser": "trousers", "pullover": "pullover", "dress": "dress",
                   "coat": "coat", "sandal": "sandals", "shirt": "shirt", "sneaker": "sneaker", "bag": "bag",
                   "ankle boot": "boot"}
# The main stream once drew a template index per post: the same draw is kept (same sizes), so days and likes of a
# seed's corpus did not move when captions became richer; the caption itself comes from its own seeded stream.
_LEGACY_TEMPLATE_DRAW = {"influencers": 3, "magazine": 2, "street": 2}


def _posts(plan: CorpusPlan, rng: np.random.Generator) -> Iterator[Post]:
    """Posts in file order: by period, then source; labels shuffled inside so file order says nothing about them."""
    scenario = plan.scenario
    serial = 0
    for p, start in enumerate(plan.period_starts[: scenario.periods]):
        days = period_length(start, scenario.period)
        for s, source in enumerate(scenario.sources):
            labels = np.repeat(np.arange(len(scenario.labels)), plan.counts[p, s])
            rng.shuffle(labels)
            for label in labels:
                serial += 1
                # Posts of labels about to grow collect more likes: engagement is a (noisy) leading signal.
                now = plan.market_shares[p + source.lead, label]
                ahead = plan.market_shares[min(p + source.lead + 4, len(plan.market_shares) - 1), label]
                momentum = float(np.clip(ahead / now, 0.5, 2.0)) if now > 0 else 1.0
                likes = int(round(source.likes * momentum * float(np.exp(rng.normal(0.0, 0.9)))))
                rng.integers(_LEGACY_TEMPLATE_DRAW.get(source.name, 3))
                day = start + dt.timedelta(days=int(rng.integers(days)))
                words = np.random.default_rng(np.random.SeedSequence([plan.seed, serial, 3]))
                caption = write_caption(scenario.labels[label], source.name, start.month, words)
                yield Post(serial, p, source.name, int(label), day, likes, caption)


def write_caption(label, source: str, month: int, rng: np.random.Generator) -> str:
    """A post's caption and hashtags, as people write them: the garment named in one of several ways (or not at all),
    sometimes another piece of the outfit, and tags for the garment, colour, pattern, season and source.

    Always at least one hashtag. Deterministic for a given ``rng`` state.
    """
    from trendgan.simulate.garments import (
        COLOUR_POST_WORDS, GARMENT_HASHTAGS, GARMENT_POST_WORDS, PATTERN_HASHTAGS, PATTERN_POST_WORDS,
    )

    def pick(options):
        options = tuple(options)
        return options[int(rng.integers(len(options)))] if options else ""

    style = getattr(label, "style", None)
    if style is not None:
        garment, colour, pattern = style.garment, style.colour, style.pattern
    else:
        garment, colour, pattern = _CLASS_GARMENTS.get(label.name.lower(), label.name.lower()), "", "solid"
    garment_words = GARMENT_POST_WORDS.get(garment, (garment,))
    kind = rng.random()
    if kind < 0.15:  # the post never names its garment
        text = pick(_CHATTER)
    else:
        parts = []
        if colour and kind < 0.80:
            parts.append(pick(COLOUR_POST_WORDS.get(colour, (colour,))))
        if pattern != "solid" and kind < 0.65:
            parts.append(pick(PATTERN_POST_WORDS[pattern]))
        item = " ".join(p for p in (*parts, pick(garment_words)) if p)
        others = [g for g in GARMENT_POST_WORDS if g != garment]
        other = f"{pick(COLOUR_POST_WORDS)} {pick(GARMENT_POST_WORDS[pick(others)])}".strip()
        templates = _CAPTIONS.get(source, _GENERIC_CAPTIONS)
        template = pick(templates) if rng.random() < 0.85 else pick(_GENERIC_CAPTIONS)
        text = template.format(item=item, other=other)
    tags = [pick(_GENERIC_TAGS)]
    if rng.random() < 0.7:
        tags.append(pick(GARMENT_HASHTAGS.get(garment, (re.sub(r"[^a-z0-9]", "", garment) or "style",))))
    if colour and rng.random() < 0.35:
        tags.append(re.sub(r"[^a-z]", "", colour + garment_words[0]))
    if PATTERN_HASHTAGS.get(pattern) and rng.random() < 0.4:
        tags.append(pick(PATTERN_HASHTAGS[pattern]))
    if rng.random() < 0.3:
        tags.append(_SEASON_TAGS[int(month)])
    if rng.random() < 0.3:
        tags.append(pick(_SOURCE_TAGS.get(source, _GENERIC_TAGS)))
    tags = list(dict.fromkeys(t for t in tags if t))
    caption = f"{text} " + " ".join(f"#{t}" for t in tags)
    return caption[0].upper() + caption[1:]


# --------------------------------------------------------------------------- pictures


class _Pictures:
    """Makes the bytes of each post's image; one per image kind."""

    suffix = ".png"

    def check_supply(self, plan: CorpusPlan) -> None:
        """Raise before anything is written when the set cannot supply the posts."""

    def picture(self, post: Post) -> tuple[bytes, str]:
        raise NotImplementedError


class _GarmentPictures(_Pictures):
    def __init__(self, scenario: Scenario, seed: int):
        self.styles = [label.style for label in scenario.labels]
        self.size = scenario.size or 64
        self.seed = seed

    def picture(self, post: Post) -> tuple[bytes, str]:
        from trendgan.simulate.garments import render_garment

        image_seed = int(np.random.SeedSequence([self.seed, post.serial]).generate_state(1)[0])
        return _png(render_garment(self.styles[post.label], size=self.size, seed=image_seed)), ".png"


class _PooledPictures(_Pictures):
    """Photo sets: each label has a pool of items, dealt out in a seeded order without repeats."""

    def __init__(self, scenario: Scenario, seed: int, pools: dict[str, list], describe: str):
        self.scenario, self.seed, self.describe = scenario, seed, describe
        missing = [l.name for l in scenario.labels if l.name not in pools]
        if missing:
            known = sorted(pools)
            raise ConfigError(
                f"{describe} has no label {', '.join(map(repr, missing))}; its labels include "
                f"{', '.join(map(repr, known[:25]))}{' ...' if len(known) > 25 else ''}"
            )
        rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
        self.pools = []
        for label in scenario.labels:
            pool = list(pools[label.name])
            order = rng.permutation(len(pool))
            self.pools.append([pool[i] for i in order])
        self.dealt = [0] * len(self.pools)

    def check_supply(self, plan: CorpusPlan) -> None:
        if self.scenario.images.allow_reuse:
            return
        demand = plan.counts.sum(axis=(0, 1))
        short = [(l.name, int(d), len(p)) for l, d, p in zip(self.scenario.labels, demand, self.pools) if d > len(p)]
        if short:
            detail = "; ".join(f"{name!r} needs {d} but has {n}" for name, d, n in short)
            raise SimulateError(
                f"{self.describe} has too few images: {detail}. Lower per_period or periods, or set "
                "allow_reuse = true under [images] (repeats are then mirrored and cropped)"
            )

    def _next(self, label: int) -> tuple[Any, int]:
        """The label's next item and how many times its pool has been gone through before."""
        pool = self.pools[label]
        k = self.dealt[label]
        self.dealt[label] += 1
        return pool[k % len(pool)], k // len(pool)


class _FashionMnistPictures(_PooledPictures):
    def __init__(self, scenario: Scenario, seed: int):
        from trendgan.simulate.labelled import FASHION_MNIST_CLASSES, read_fashion_mnist

        self.images, labels = read_fashion_mnist(scenario.images.path, scenario.images.split)
        pools: dict[str, list] = {}
        for index, name in enumerate(FASHION_MNIST_CLASSES):
            members = np.flatnonzero(labels == index).tolist()
            pools[name] = members
            pools[str(index)] = members  # a class may also be named by its number
        super().__init__(scenario, seed, pools, f"Fashion-MNIST ({scenario.images.path})")

    def picture(self, post: Post) -> tuple[bytes, str]:
        from PIL import Image

        index, repeat = self._next(post.label)
        image = Image.fromarray(self.images[index], "L").convert("RGB")
        if repeat:
            image = _vary(image, post, self.seed)
        if self.scenario.size and self.scenario.size != image.width:
            image = image.resize((self.scenario.size, self.scenario.size), Image.Resampling.BICUBIC)
        return _png(image), ".png"


class _FolderPictures(_PooledPictures):
    def __init__(self, scenario: Scenario, seed: int):
        from trendgan.simulate.labelled import read_labelled_folder

        spec = scenario.images
        photos, self.missing = read_labelled_folder(
            spec.path, spec.csv, spec.image_column, spec.label_column, spec.id_column, spec.image_template, spec.where
        )
        if not photos:
            raise IngestError(f"no labelled photos found in {spec.path} (check csv, label_column and image_column)")
        pools: dict[str, list] = {}
        for photo in photos:
            pools.setdefault(photo.label, []).append(photo.path)
        super().__init__(scenario, seed, pools, f"the labelled folder {spec.path}")

    def picture(self, post: Post) -> tuple[bytes, str]:
        path, repeat = self._next(post.label)
        suffix = path.suffix.lower() or ".jpg"
        if not repeat and not self.scenario.size:
            return path.read_bytes(), suffix  # the original photo, byte for byte
        from PIL import Image

        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        except OSError as exc:
            raise IngestError(f"cannot read the photo {path} ({exc}); remove it from the CSV or fix the file") from None
        if repeat:
            image = _vary(image, post, self.seed)
        if self.scenario.size:
            image.thumbnail((self.scenario.size, self.scenario.size), Image.Resampling.LANCZOS)
        if suffix == ".png":
            return _png(image), ".png"
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=92)
        return buffer.getvalue(), ".jpg"


def _vary(image, post: Post, seed: int):
    """A repeated photo is mirrored, cropped and relit a little so it is a new picture, not a byte-for-byte repost."""
    from PIL import ImageEnhance, ImageOps

    rng = np.random.default_rng(np.random.SeedSequence([seed, post.serial, 11]))
    width, height = image.size
    keep = rng.uniform(0.86, 0.95)
    w, h = max(1, int(width * keep)), max(1, int(height * keep))
    x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    varied = ImageOps.mirror(image.crop((x, y, x + w, y + h))).resize((width, height))
    return ImageEnhance.Brightness(varied).enhance(rng.uniform(0.88, 1.12))


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _pictures_for(scenario: Scenario, seed: int) -> _Pictures:
    kind = scenario.images.kind
    if kind == "garments":
        return _GarmentPictures(scenario, seed)
    if kind == "fashion-mnist":
        return _FashionMnistPictures(scenario, seed)
    return _FolderPictures(scenario, seed)


# --------------------------------------------------------------------------- writing


def simulate(
    out: str | os.PathLike,
    scenario: str | os.PathLike | dict | None = None,
    seed: int = 0,
    *,
    size: int | None = None,
    periods: int | None = None,
    per_period: int | None = None,
    start: str | dt.date | None = None,
    data: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> SimulationResult:
    """Write a dated corpus with known ground truth into ``out`` (see the module docstring for the layout).

    ``scenario`` is a TOML path, a dict in the same shape, or None for the built-in garments demo
    (``pipelines/scenarios/garments-demo.toml``). ``size``, ``periods``, ``per_period`` and ``start`` override the
    scenario; ``data`` replaces its ``[images] path``. The same scenario and seed give the same files, byte for byte.
    ``out`` must be absent or empty, or hold an earlier simulation and ``overwrite=True``.
    """
    began = time.perf_counter()
    plan_scenario = load_scenario(scenario, size=size, periods=periods, per_period=per_period,
                                  start=start.isoformat() if isinstance(start, dt.date) else start)
    if data is not None:
        if plan_scenario.images.kind == "garments":
            raise ConfigError("--data names a labelled image set, but this scenario draws garments; drop --data")
        plan_scenario.images.path = Path(data).expanduser().resolve()
    out = Path(out).expanduser()
    _check_out(out, overwrite)
    plan = plan_corpus(plan_scenario, seed)
    pictures = _pictures_for(plan_scenario, seed)
    pictures.check_supply(plan)

    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        staging.mkdir(parents=True)
        _write_images(plan, pictures, staging)
        _write_manifest(plan, staging / "manifest.csv")
        _write_labels(plan, staging / "labels.csv")
        (staging / "truth.json").write_text(json.dumps(truth_document(plan), indent=1) + "\n", encoding="utf-8")
        _swap_into_place(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return SimulationResult(
        out=out,
        manifest=out / "manifest.csv",
        truth=out / "truth.json",
        labels_csv=out / "labels.csv",
        scenario=plan_scenario.name,
        images=len(plan.posts),
        periods=plan_scenario.periods,
        holdout_periods=plan_scenario.holdout_periods,
        start=plan_scenario.start,
        end=plan_scenario.end,
        period=plan_scenario.period,
        trends=dict(zip(plan.label_names, plan.trends)),
        sources={s.name: int(plan.counts[:, i].sum()) for i, s in enumerate(plan_scenario.sources)},
        leading_sources=[s.name for s in plan_scenario.sources if s.leading],
        seconds=time.perf_counter() - began,
    )


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SimulateError(f"{out} is a file; give a folder name for the corpus")
    if not out.exists() or not any(out.iterdir()):
        return
    if (out / "truth.json").is_file() and _is_simulation(out / "truth.json"):
        if overwrite:
            return
        raise SimulateError(f"{out} already holds a simulated corpus; pass --overwrite to replace it, or choose another folder")
    raise SimulateError(f"{out} is not empty and is not a simulated corpus; choose a new or empty folder (nothing was written)")


def _is_simulation(truth: Path) -> bool:
    try:
        return json.loads(truth.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _swap_into_place(staging: Path, out: Path) -> None:
    """Replace ``out`` by the finished corpus in two renames, so an interrupted run never leaves half a corpus."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_images(plan: CorpusPlan, pictures: _Pictures, folder: Path) -> None:
    with progress(len(plan.posts), "simulating", unit="images") as bar:
        for post in plan.posts:
            data, suffix = pictures.picture(post)
            relative = f"{post.source}/{post.day.isoformat()}/post-{post.serial:06d}{suffix}"
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            post.path = relative
            bar.advance()


def _write_manifest(plan: CorpusPlan, target: Path) -> None:
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path", "date", "source", "caption", "likes"])
        for post in plan.posts:
            writer.writerow([post.path, post.day.isoformat(), post.source, post.caption, post.likes])


def _write_labels(plan: CorpusPlan, target: Path) -> None:
    names = plan.label_names
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path", "label", "source", "period"])
        for post in plan.posts:
            writer.writerow([post.path, names[post.label], post.source, plan.period_starts[post.period].isoformat()])


def truth_document(plan: CorpusPlan) -> dict:
    """The ground truth as written to truth.json (see the module docstring)."""
    scenario = plan.scenario
    observed = scenario.periods
    keys = [d.isoformat() for d in plan.period_starts]
    labels = {}
    for j, (label, curve) in enumerate(zip(scenario.labels, scenario.curves())):
        entry: dict[str, Any] = {
            "trend": plan.trends[j],
            "curve": {"shape": curve.shape, **{k: _plain(v) for k, v in label.params.items()}},
        }
        if label.style is not None:
            entry["style"] = {"colour": label.style.colour, "pattern": label.style.pattern, "garment": label.style.garment}
        entry["shares"] = {k: round(float(v), 6) for k, v in zip(keys[:observed], plan.shares[:observed, j])}
        if plan.leading_shares is not None:
            entry["leading_shares"] = {k: round(float(v), 6) for k, v in zip(keys[:observed], plan.leading_shares[:observed, j])}
        entry["counts"] = {k: int(v) for k, v in zip(keys[:observed], plan.counts[:, :, j].sum(axis=1))}
        if scenario.holdout_periods:
            entry["holdout_shares"] = {k: round(float(v), 6) for k, v in zip(keys[observed:], plan.shares[observed:, j])}
        labels[label.name] = entry
    return {
        "format": FORMAT,
        "scenario": scenario.name,
        "seed": plan.seed,
        "period": scenario.period,
        "start": keys[0],
        "end": keys[observed - 1],
        "periods": observed,
        "holdout_periods": scenario.holdout_periods,
        "holdout_end": keys[-1] if scenario.holdout_periods else None,
        "images": len(plan.posts),
        "sources": {
            s.name: {"weight": round(s.weight, 6), "lead": s.lead, "leading": s.leading, "likes": s.likes,
                     "images": int(plan.counts[:, i].sum())}
            for i, s in enumerate(scenario.sources)
        },
        "trend_vocabulary": list(TRENDS),
        "labels": labels,
        "settings": scenario.as_dict(),
    }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


# --------------------------------------------------------------------------- reading the truth back


def load_truth(corpus: str | os.PathLike) -> dict:
    """``truth.json`` of a simulated corpus (the folder or the file itself)."""
    path = Path(corpus)
    if path.is_dir():
        path = path / "truth.json"
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SimulateError(f"no truth.json at {path}; is this a folder written by `trendgan simulate`?") from None
    except ValueError:
        raise SimulateError(f"{path} is not valid JSON; simulate the corpus again") from None
    if not isinstance(truth, dict) or truth.get("format") != FORMAT:
        raise SimulateError(f"{path} is not a trendgan simulation truth file (format {FORMAT})")
    return truth


def truth_series(corpus: str | os.PathLike | dict, holdout: bool = False):
    """The true shares as a long frame like the styles stage's series: ``unique_id`` (label), ``ds``, ``y``,
    ``count`` (images written; NA in the holdout), ``leading`` (true leading share, when there are leading sources)
    and ``holdout`` (bool). ``holdout=True`` adds the holdout periods after the observed ones."""
    import pandas as pd

    truth = corpus if isinstance(corpus, dict) else load_truth(corpus)
    rows = []
    for label, entry in truth["labels"].items():
        lead = entry.get("leading_shares", {})
        for ds, share in entry["shares"].items():
            rows.append((label, ds, share, entry["counts"].get(ds), lead.get(ds), False))
        if holdout:
            for ds, share in entry.get("holdout_shares", {}).items():
                rows.append((label, ds, share, None, None, True))
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", "y", "count", "leading", "holdout"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame["count"] = frame["count"].astype("Int64")
    frame["leading"] = frame["leading"].astype(float)
    return frame.sort_values(["unique_id", "ds"], ignore_index=True)
