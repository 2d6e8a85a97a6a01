"""Rendering from a trained generator: the object other stages (render, design) build on."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trendgan.errors import GanError, StageNotRunError


@dataclass
class Renderer:
    """A trained generator ready to render images from condition vectors.

    Attributes:
        generator: the EMA generator, a ``torch.nn.Module`` in eval mode with ``requires_grad`` off for its
            parameters. ``generator(z, cond)`` takes ``z`` float (N, z_dim) and ``cond`` float (N, cond_dim) on
            ``device`` and returns float images (N, 3, image_size, image_size) in [-1, 1] (NCHW, RGB). ``cond`` is
            L2-normalised inside, so centroids, mixes and unnormalised vectors are all accepted; it is
            differentiable in both ``z`` and ``cond`` (for latent optimisation), and in eval mode each image
            depends only on its own row (batch norm uses stored statistics).
        z_dim: width of the noise vector ``z`` (standard normal).
        cond_dim: width of a condition: the dimension of the encoder's vectors.
        image_size: side of the square images in pixels.
        encoder_key: the encoder whose vector space the conditions live in (e.g. ``effnet-lite0``); conditions
            from another encoder are meaningless to this generator.
        device: the ``torch.device`` the generator lives on.
        step: the training step the generator comes from; run: its run folder (None when loaded from a file).
    """

    generator: object
    z_dim: int
    cond_dim: int
    image_size: int
    encoder_key: str
    device: object
    step: int = 0
    run: Path | None = None
    config: dict = field(default_factory=dict)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device="cpu") -> "Renderer":
        """Load the EMA generator of a ``checkpoint.pt`` written by ``train_gan`` (or the benchmark)."""
        import torch

        from trendgan.gan.config import create_generator, load_config

        path = Path(path)
        state = read_checkpoint(path)
        try:
            config = load_config(state["config"])
            generator = create_generator(config, int(state["cond_dim"]))  # no discriminator (or its feature network)
            generator.load_state_dict(state["ema"])
        except (RuntimeError, KeyError, EOFError, ValueError) as exc:
            raise GanError(f"the GAN checkpoint {path} cannot be read ({type(exc).__name__}); train again with `trendgan train`") from None
        device = torch.device(device)
        generator.to(device).eval().requires_grad_(False)
        return cls(
            generator=generator,
            z_dim=config.z_dim,
            cond_dim=int(state["cond_dim"]),
            image_size=config.image_size,
            encoder_key=str(state.get("encoder_key", "")),
            device=device,
            step=int(state["step"]),
            run=path.parent,
            config=config.to_dict(),
        )

    def noise(self, n: int, seed: int = 0):
        """``n`` standard-normal z vectors drawn on the CPU from ``seed`` (the same on every device)."""
        import torch

        rng = torch.Generator().manual_seed(int(seed))
        return torch.randn(n, self.z_dim, generator=rng).to(self.device)

    @property
    def truncation(self) -> float:
        """The psi renders are drawn with unless asked otherwise: the config's ``render_truncation`` (1, untruncated,
        for checkpoints written before the field)."""
        return float(self.config.get("render_truncation", 1.0))

    def render(self, conditions, seed: int = 0, per_condition: int = 1, batch_size: int = 64,
               truncation: float | None = None) -> np.ndarray:
        """Render ``per_condition`` images for each condition row.

        ``conditions``: array (N, cond_dim) or one vector (cond_dim,), in the encoder's space. Returns uint8
        (N * per_condition, H, W, 3), grouped by condition: rows ``i * per_condition ... (i + 1) * per_condition - 1``
        belong to condition ``i``. The same conditions, seed and per_condition give the same images.
        ``truncation`` psi in [0, 1]: each render's latent moved toward the condition's mean latent (the truncation
        trick; 1: untruncated, 0: the condition's one mean render): more typical renders of the condition at the
        cost of their variety. None: the config's ``render_truncation`` (1 for checkpoints written before it).
        """
        import torch

        truncation = self.truncation if truncation is None else float(truncation)
        if not 0.0 <= truncation <= 1.0:
            raise GanError(f"truncation must be between 0 and 1, got {truncation}")
        cond = self.check_conditions(conditions)
        cond = np.repeat(cond, int(per_condition), axis=0)
        z = self.noise(len(cond), seed)
        cond_t = torch.from_numpy(cond).to(self.device)
        out = []
        with torch.no_grad():
            for start in range(0, len(cond), batch_size):
                images = self.generator(z[start : start + batch_size], cond_t[start : start + batch_size],
                                        truncation=truncation)
                out.append(to_uint8(images))
        return np.concatenate(out) if out else np.zeros((0, self.image_size, self.image_size, 3), np.uint8)

    def check_conditions(self, conditions) -> np.ndarray:
        cond = np.asarray(conditions, dtype=np.float32)
        if cond.ndim == 1:
            cond = cond[None, :]
        if cond.ndim != 2 or cond.shape[1] != self.cond_dim:
            raise GanError(
                f"conditions have shape {cond.shape} but this generator takes vectors of width {self.cond_dim} "
                f"(encoder {self.encoder_key or 'unknown'}); embed with the same encoder it was trained on"
            )
        if not np.isfinite(cond).all() or (np.linalg.norm(cond, axis=1) == 0).any():
            raise GanError("a condition vector is zero or not finite; pass embeddings, centroids or their mixes")
        return cond


def read_checkpoint(path: str | Path) -> dict:
    """A ``checkpoint.pt`` loaded weights-only on the CPU: the one loader of GAN checkpoints (render, restyle, design,
    evaluate-gan, ``train --resume``). GanError in one line, with ``.reason``, when the file is missing, truncated,
    not a torch checkpoint, or holds more than weights (a pickle that could run code is never loaded)."""
    import pickle
    import zipfile

    import torch

    path = Path(path)
    if not path.is_file():
        raise GanError(f"no GAN checkpoint at {path}: run `trendgan train` first")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        reason = None if isinstance(state, dict) else f"it holds a {type(state).__name__}, not a checkpoint"
    except pickle.UnpicklingError as exc:
        # torch names the class a pickle wanted to build ("Unsupported global"); plain garbage is an "operand"
        unsafe = "global" in str(exc).lower()
        reason = "it holds more than weights, and a file that could run code is not loaded" if unsafe else \
            "it is not a torch checkpoint"
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, IndexError, KeyError):
        reason = "truncated or damaged"  # torch's zip reader says so in many ways, none of them for users
    if reason:
        error = GanError(f"the GAN checkpoint {path} cannot be used ({reason}); train again with `trendgan train`, "
                         "or `trendgan check --repair` moves the damaged run aside")
        error.reason = reason
        raise error
    return state


def load_generator(store, run: str | None = None, device="cpu") -> Renderer:
    """The EMA generator of a GAN run (the latest finished one by default) as a :class:`Renderer`."""
    from trendgan.devices import pick_device
    from trendgan.runs import GanRun

    gan = GanRun.open(store, run)
    if not gan.checkpoint.exists():
        raise StageNotRunError(f"the GAN run {gan.name} has no checkpoint yet: run `trendgan train --resume`")
    return Renderer.from_checkpoint(gan.checkpoint, device=pick_device(device) if isinstance(device, str) else device)


def to_uint8(images) -> np.ndarray:
    """Images in [-1, 1] (N, 3, H, W) tensor -> uint8 (N, H, W, 3) array."""
    return ((images.detach().float() + 1) * 127.5).round().clamp(0, 255).to("cpu").byte().permute(0, 2, 3, 1).numpy()


def image_grid(images: np.ndarray, columns: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile uint8 images (N, H, W, 3) into one image, row-major, with a white gutter."""
    n, h, w, _ = images.shape
    columns = max(1, min(columns or int(np.ceil(np.sqrt(n))), n))
    rows = int(np.ceil(n / columns))
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = image
    return grid


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(image: np.ndarray, target: str | Path) -> Path:
    """Write one uint8 image (H, W, 3) as a PNG, atomically."""
    from trendgan.store import write_bytes_atomic

    return write_bytes_atomic(target, png_bytes(image))
