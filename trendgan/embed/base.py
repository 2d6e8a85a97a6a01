"""What every encoder offers: the :class:`Encoder` base, and the keys of the default encoders."""

from __future__ import annotations

from collections.abc import Sequence

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
