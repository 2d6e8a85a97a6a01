"""The encoder registry: one small interface in front of every image model trendgan can embed with.

An encoder is chosen by a key that is stored with its vectors, so later stages always know which space the
vectors live in:

- ``clip:<arch>/<pretrained>``: an open_clip model and pretrained tag, e.g. ``clip:ViT-B-32/laion2b_s34b_b79k``;
  the tag ``none`` means random weights (tests and speed benchmarks only).
- ``clip:<arch>@<checkpoint path>``: an open_clip model with local weights (a fine-tune or an offline copy).
- ``effnet-lite0``: ImageNet EfficientNet-Lite0, weights shipped in a pip package; fully offline.
- ``auto``: CLIP when its weights are cached or reachable quickly, else effnet-lite0.

Other encoders can be added with :func:`register_encoder` (like BERTopic's backends): any object with the
attributes of :class:`Encoder` works.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from trendgan.embed.images import ImageRecipe
from trendgan.errors import EncoderError

DEFAULT_CLIP = "clip:ViT-B-32/laion2b_s34b_b79k"
OFFLINE_ENCODER = "effnet-lite0"


class Encoder:
    """What every encoder offers. Subclasses set ``key``, ``dim``, ``recipe``, ``device`` and implement ``_forward``.

    ``embed_images`` and ``embed_pixels`` return float32 rows with unit L2 norm, so a dot product is a cosine.
    """

    key: str
    dim: int
    has_text: bool = False
    recipe: ImageRecipe
    device = None
    channels_last: bool = False   # set where it was measured to help (CNNs on CPU)

    # ---- the interface
    def preprocess(self, image):
        """PIL image -> normalised float tensor (3, H, W), as the model expects it."""
        return self.recipe.to_tensor(image)

    def embed_images(self, images: Sequence, batch_size: int = 64) -> np.ndarray:
        """PIL images -> (N, dim) float32, L2-normalised."""
        images = list(images)
        chunks = [self.embed_pixels(self.recipe.stack(images[i:i + batch_size])) for i in range(0, len(images), batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise EncoderError(f"the encoder {self.key!r} has no text tower; use a clip:... encoder for text prompts")

    def embed_pixels(self, pixels) -> np.ndarray:
        """uint8 pixels (N, 3, H, W) from ``recipe.load`` -> (N, dim) float32, L2-normalised. The hot path."""
        import torch

        from trendgan.devices import autocast

        batch = torch.as_tensor(pixels)
        if len(batch) == 0:
            return np.zeros((0, self.dim), np.float32)
        with torch.inference_mode():
            batch = batch.to(self.device, non_blocking=True)
            inputs = self.recipe.normalise(batch)
            if self.channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            with autocast(self.device):
                features = self._forward(inputs)
            features = torch.nn.functional.normalize(features.float(), dim=-1)
            return features.cpu().numpy().astype(np.float32, copy=False)

    def _forward(self, inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict:
        """What is recorded in ``embeddings/<slug>/encoder.json``."""
        return {"key": self.key, "dim": self.dim, "has_text": self.has_text,
                "image_size": self.recipe.size, "mean": list(self.recipe.mean), "std": list(self.recipe.std)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self.key!r}, dim={self.dim}, device={self.device})"


# --------------------------------------------------------------------------- registry

_FACTORIES: dict[str, Callable[[str, object], Encoder]] = {}


def register_encoder(prefix: str, factory: Callable[[str, object], Encoder]) -> None:
    """Make keys equal to ``prefix`` or starting with ``prefix:`` build encoders with ``factory(key, device)``."""
    _FACTORIES[prefix] = factory


def _factory_for(key: str):
    head = key.split(":", 1)[0]
    if head in _FACTORIES:
        return _FACTORIES[head]
    known = ", ".join(["auto", DEFAULT_CLIP, "clip:<arch>@<checkpoint>", *sorted(k for k in _FACTORIES if k != "clip")])
    raise EncoderError(f"unknown encoder {key!r}; use one of: {known}")


def get_encoder(key: str = "auto", device="cpu") -> Encoder:
    """Build the encoder named by ``key`` on ``device`` ("auto", "cpu", "cuda", "mps" or a torch.device)."""
    from trendgan.devices import pick_device

    key = resolve_encoder_key(key)[0]
    torch_device = device if not isinstance(device, str) else pick_device(device)
    return _factory_for(key)(key, torch_device)


def resolve_encoder_key(key: str) -> tuple[str, str]:
    """(concrete key, why it was chosen). ``auto`` becomes the default CLIP or the offline encoder."""
    key = (key or "auto").strip()
    if key != "auto":
        _factory_for(key)  # an unknown key fails here, before any model loads
        if key.startswith("clip:"):
            from trendgan.embed.clip import normalise_clip_key

            key = normalise_clip_key(key)
        return key, "asked for"
    from trendgan.embed.clip import clip_weights_status

    status = clip_weights_status(DEFAULT_CLIP)
    if status in ("cached", "reachable"):
        return DEFAULT_CLIP, f"auto: CLIP weights are {status}"
    return OFFLINE_ENCODER, f"auto: CLIP weights for {DEFAULT_CLIP} are not cached and the hub is {status}; using the offline encoder"


def _build_clip(key, device):
    from trendgan.embed.clip import ClipEncoder

    return ClipEncoder(key, device)


def _build_effnet(key, device):
    from trendgan.embed.effnet import EffnetLite0Encoder

    if key != OFFLINE_ENCODER:
        raise EncoderError(f"unknown encoder {key!r}; did you mean {OFFLINE_ENCODER!r}?")
    return EffnetLite0Encoder(device)


register_encoder("clip", _build_clip)
register_encoder(OFFLINE_ENCODER, _build_effnet)
