"""``restyle``: keep a garment's silhouette, give it another look (a style, an image, or a text prompt)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from trendgan.console import escape, progress, say
from trendgan.design.images import fit_square, image_to_tensor, open_image, tensor_to_images
from trendgan.design.invert import InversionSettings, invert_garment
from trendgan.design import models
from trendgan.design.models import renderer_device, resolve_device
from trendgan.design.output import write_designs_run
from trendgan.design.quality import structural_similarity
from trendgan.design.targets import Target, load_styles_table, resolve_target
from trendgan.design.transfer import TransferSettings, transfer_style
from trendgan.design.vectors import blend_looks, cosine
from trendgan.errors import DesignError, StageNotRunError
from trendgan.store import Store

MODES = ("gan", "transfer")


@dataclass
class RestyleResult:
    folder: Path
    mode: str
    target: dict
    strengths: list[float]
    files: list[dict] = field(default_factory=list)  # file, strength, variant, score, cos_target, cos_garment, ssim_garment
    reconstruction_ssim: float | None = None  # GAN mode: how well the inversion redrew the garment


@dataclass
class _Restyled:
    """What either mode hands back before scoring: renders per strength and what they are compared with."""

    target: Target
    renders: dict  # strength -> [PIL]
    garment: object  # PIL, the garment at the renders' size
    garment_vector: np.ndarray
    encoder: object  # scores the renders
    index: dict = field(default_factory=dict)  # mode-specific index.json entries
    pictures: dict = field(default_factory=dict)  # extra files beside the renders
    settings: dict = field(default_factory=dict)  # for config.json


def restyle(store: Store | str, garment: str | Path, to: str, strength: float | Sequence[float] = 0.7, n: int = 4,
            mode: str = "gan", seed: int = 0, *, steps: int | None = None, gan_run: str | None = None,
            styles_run: str | None = None, variation: float = 0.3, device: str = "auto",
            inversion: InversionSettings | None = None, transfer: TransferSettings | None = None, renderer=None,
            encoder=None) -> RestyleResult:
    """Restyle ``garment`` toward ``to`` and write ``designs/<run>/``.

    ``to`` is a style id or name from the latest styles run, an image path, or a text prompt (CLIP encoders only).
    ``strength`` (one value or several) goes from 0 (the garment as the generator redraws it) to 1 (the target's
    look in full). ``mode="gan"`` inverts the trained generator; ``mode="transfer"`` runs neural style transfer on
    EfficientNet-Lite0 features, which needs no GAN and reaches looks the GAN never saw. ``steps`` overrides the
    step count of ``inversion`` / ``transfer`` (their other settings tune the optimisers). ``renderer`` and
    ``encoder`` default to the store's latest GAN and its encoder.
    """
    store = store if isinstance(store, Store) else Store(store)
    strengths = _check_request(strength, n, mode)
    image = open_image(garment)  # first, so an unreadable file fails before any model loads
    if mode == "gan":
        settings = _with_steps(inversion or InversionSettings(), steps)
        made = _restyle_with_gan(store, image, to, strengths, n, seed, settings, gan_run, styles_run, variation, device,
                                 renderer, encoder)
    else:
        settings = _with_steps(transfer or TransferSettings(), steps)
        made = _restyle_with_transfer(store, image, to, strengths, n, seed, settings, styles_run, device, encoder)
    files, pictures = _score_renders(made)
    pictures.update({"garment.png": made.garment, **made.pictures})
    index = {
        "kind": "restyle",
        "mode": mode,
        "inputs": {"garment": str(garment), "garment_file": "garment.png"},
        "targets": [made.target.describe()],
        "strengths": strengths,
        "seed": seed,
        "encoder": getattr(made.encoder, "key", None),
        "score": "cos_target: cosine of the render's embedding to the target",
        **made.index,
        "files": files,
    }
    config = {"garment": str(garment), "to": str(to), "strengths": strengths, "n": n, "mode": mode, "seed": seed,
              "steps": steps, "gan_run": gan_run, "styles_run": styles_run, "variation": variation, **made.settings}
    folder = write_designs_run(store, "restyle", pictures, index, config, {"encoder": index["encoder"]})
    return RestyleResult(folder=folder, mode=mode, target=made.target.describe(), strengths=strengths, files=files,
                         reconstruction_ssim=made.index.get("reconstruction", {}).get("ssim_garment"))


def _check_request(strength, n: int, mode: str) -> list[float]:
    if mode not in MODES:
        raise DesignError(f"unknown restyle mode {mode!r}; use one of: {', '.join(MODES)}")
    values = [float(strength)] if np.isscalar(strength) else [float(s) for s in strength]
    if not values or any(not 0.0 <= s <= 1.0 for s in values):
        raise DesignError(f"--strength must be between 0 and 1, got {values}")
    if n < 1:
        raise DesignError(f"--n must be at least 1, got {n}")
    return values


def _with_steps(settings, steps):
    if steps is None:
        return settings
    if steps < 1:
        raise DesignError(f"--steps must be at least 1, got {steps}")
    return replace(settings, steps=int(steps))


def _restyle_with_gan(store, image, to, strengths, n, seed, settings, gan_run, styles_run, variation, device, renderer,
                      encoder):
    renderer = renderer if renderer is not None else models.load_renderer(store, gan_run, device)
    encoder = encoder if encoder is not None else models.load_encoder(renderer.encoder_key, device)
    target = resolve_target(store, to, encoder, encoder_key=renderer.encoder_key, styles_run=styles_run)
    run_on = renderer_device(renderer)
    garment = image_to_tensor(image, renderer.image_size, run_on)
    own = encoder.embed_images([image])[0]

    say(f"finding the generator input that draws the garment ({settings.steps} steps)")
    with progress(settings.steps, "inverting", unit="steps") as bar:
        inversion = invert_garment(renderer.generator, garment, own, renderer.z_dim, settings, seed=seed,
                                   device=run_on, on_step=lambda step, loss: bar.advance())

    renders, redrawn = _render_sweep(renderer, inversion, target, strengths, n, variation, seed, run_on)
    garment_small = tensor_to_images(garment)[0]
    reconstruction = {
        "file": "reconstruction.png",
        "ssim_garment": structural_similarity(garment_small, redrawn),
        "loss": inversion.loss,
        "steps": settings.steps,
    }
    return _Restyled(target, renders, garment_small, own, encoder,
                     index={"reconstruction": reconstruction, "gan_encoder": renderer.encoder_key},
                     pictures={"reconstruction.png": redrawn}, settings={"inversion": asdict(settings)})


def _render_sweep(renderer, inversion, target, strengths, n, variation, seed, device):
    """Renders at each strength from the inverted z (plus small z nudges for variants 2..n), and the plain redraw."""
    import torch

    rng = torch.Generator(device="cpu").manual_seed(int(seed) + 1)
    nudges = torch.randn(n, renderer.z_dim, generator=rng).to(device) * float(variation)
    nudges[0] = 0.0  # the first variant keeps the inverted z exactly
    z = inversion.z.expand(n, -1) + nudges
    renders = {}
    with torch.no_grad():
        for s in strengths:
            condition = torch.as_tensor(blend_looks(inversion.condition, target.vector, s), device=device)
            renders[s] = tensor_to_images(renderer.generator(z, condition.view(1, -1).expand(n, -1)))
        own = torch.as_tensor(inversion.condition, device=device).view(1, -1)
        redrawn = tensor_to_images(renderer.generator(inversion.z, own))[0]
    return renders, redrawn


def _restyle_with_transfer(store, image, to, strengths, n, seed, settings, styles_run, device, encoder):
    encoder = encoder if encoder is not None else models.load_encoder(_scoring_encoder_key(store, styles_run), device)
    target = resolve_target(store, to, encoder, encoder_key=getattr(encoder, "key", None), styles_run=styles_run)
    look = _look_image(store, target)
    say(f"transferring the look of {escape(target.label)} ({settings.steps} steps at {settings.size} px)")
    with progress(settings.steps, "style transfer", unit="steps") as bar:
        renders = transfer_style(image, look, strengths, n=n, settings=settings, seed=seed,
                                 device=resolve_device(device), on_step=lambda step, loss: bar.advance())
    own = encoder.embed_images([image])[0]
    return _Restyled(target, renders, fit_square(image, settings.size), own, encoder,
                     settings={"transfer": asdict(settings)})


def _scoring_encoder_key(store: Store, styles_run: str | None) -> str:
    """Transfer mode scores renders in the styles' encoder space when there is one, else with the offline CNN."""
    try:
        key = load_styles_table(store, styles_run).encoder_key
    except StageNotRunError:
        key = None
    return key or "effnet-lite0"


def _look_image(store: Store, target: Target):
    """The image whose look style transfer copies: the target image, or a representative image of the style."""
    if target.kind == "text":
        raise DesignError("style transfer needs an image or a style to copy the look from; "
                          "text targets work with --mode gan and a CLIP encoder")
    for raw in target.example_paths:
        for path in (Path(raw), store.root / raw):
            if path.is_file():
                try:
                    return open_image(path)
                except DesignError:
                    continue
    raise DesignError(f"style {target.label!r} has no readable representative image for style transfer; "
                      "give an image with --to or use --mode gan")


def _score_renders(made: _Restyled):
    """Embed every render once; score it by closeness to the target, and keep how much of the garment it kept."""
    garment_small = made.garment
    ordered = [(s, v, img) for s, images in made.renders.items() for v, img in enumerate(images)]
    vectors = made.encoder.embed_images([img for _, _, img in ordered])
    to_target = cosine(vectors, made.target.vector)
    to_garment = cosine(vectors, made.garment_vector)
    files, pictures = [], {}
    for (s, v, img), c_target, c_garment in zip(ordered, to_target, to_garment):
        name = f"restyle-s{s:.2f}-{v + 1:02d}.png"
        pictures[name] = img
        files.append({
            "file": name,
            "strength": s,
            "variant": v + 1,
            "score": float(c_target),
            "cos_target": float(c_target),
            "cos_garment": float(c_garment),
            "ssim_garment": structural_similarity(garment_small, img.resize(garment_small.size)),
        })
    return files, pictures
