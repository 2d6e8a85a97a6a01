"""Turning image files into model input: decode, resize, crop, then normalise on the model's device.

The work is split so the expensive, model-independent part (decode + resize + crop to a uint8 array) runs in
DataLoader workers or Ray tasks, while the cheap arithmetic part (to float, subtract mean, divide by std) runs on
the model's device, in one go per batch. Shipping uint8 pixels instead of float32 also moves 4x fewer bytes
between processes and onto the GPU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

# Errors that mean "this file is not a usable image"; anything else is a bug and should surface.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError)


@dataclasses.dataclass(frozen=True)
class ImageRecipe:
    """How an encoder wants its pixels: shortest side resized to ``resize_to``, centre crop ``size``.

    ``mean`` and ``std`` are per channel on the 0..1 scale. ``squash`` resizes straight to ``size`` x ``size``
    (some CLIP checkpoints were trained that way). Plain data, so it pickles into worker processes cheaply.
    """

    size: int
    resize_to: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    squash: bool = False

    def pixels(self, image) -> np.ndarray:
        """PIL image -> uint8 array (3, size, size), RGB."""
        from PIL import Image

        resample = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
                    "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS}[self.interpolation]
        image = _as_rgb(image)
        if self.squash:
            image = image.resize((self.size, self.size), resample)
        else:
            # Same arithmetic as torchvision's Resize + CenterCrop, so vectors match open_clip's own preprocess.
            width, height = image.size
            short, long = sorted((width, height))
            new_long = int(self.resize_to * long / short)
            new_size = (self.resize_to, new_long) if width <= height else (new_long, self.resize_to)
            if new_size != image.size:
                image = image.resize(new_size, resample)
            left = round((new_size[0] - self.size) / 2.0)
            top = round((new_size[1] - self.size) / 2.0)
            image = image.crop((left, top, left + self.size, top + self.size))
        return np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1))

    def load(self, path: str) -> np.ndarray:
        """Decode a file straight to model pixels; raises one of DECODE_ERRORS when the file is not usable.

        JPEG ``draft`` lets libjpeg decode big photos at 1/2, 1/4 or 1/8 scale, never below what the resize needs,
        which makes decoding large street-style photos several times faster for the same result.
        """
        from PIL import Image, ImageOps

        from trendgan.ingest.images import open_regular

        with open_regular(path) as fh, Image.open(fh) as image:  # a FIFO swapped in after ingest must not hang us
            if image.format == "JPEG":
                image.draft("RGB", (self.resize_to, self.resize_to))
            image.load()
            image = ImageOps.exif_transpose(image)
            return self.pixels(image)

    def normalise(self, batch):
        """uint8 tensor (N, 3, H, W) on any device -> float32 model input, normalised."""
        import torch

        mean = torch.tensor(self.mean, device=batch.device, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(self.std, device=batch.device, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
        return (batch.float() - mean) / std

    def to_tensor(self, image):
        """PIL image -> normalised float tensor (3, size, size): the ``preprocess`` of the encoder interface."""
        import torch

        return self.normalise(torch.from_numpy(self.pixels(image))[None])[0]

    def stack(self, images: Sequence) -> np.ndarray:
        return np.stack([self.pixels(image) for image in images]) if images else np.zeros((0, 3, self.size, self.size), np.uint8)


def _as_rgb(image):
    """RGB, compositing any transparency onto white (product shots with alpha would otherwise turn black)."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image
