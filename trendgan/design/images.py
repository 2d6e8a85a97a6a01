"""Reading the person's images and writing the designs: every problem with a file names the file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from trendgan.errors import DesignError
from trendgan.store import write_bytes_atomic

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def open_image(path: str | Path):
    """An RGB PIL image, or DesignError naming the file when it is missing or not a readable image."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    if not path.is_file():
        raise DesignError(f"image not found: {path}; check the path")
    try:
        with Image.open(path) as img:
            img.load()  # decode now so a truncated file fails here, not halfway through a render
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DesignError(f"cannot read the image {path} ({type(exc).__name__}); use a JPEG or PNG file") from None


def looks_like_image_path(text: str) -> bool:
    """True for 'dress.jpg' or 'looks/dress': a typo in a path should not be taken as a text prompt."""
    return Path(text).suffix.lower() in IMAGE_SUFFIXES or "/" in text or "\\" in text


def fit_square(image, size: int):
    """Pad to a square on the image's own border colour (catalogue shots sit on plain backgrounds), then resize."""
    from PIL import Image

    width, height = image.size
    side = max(width, height)
    arr = np.asarray(image)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]).reshape(-1, 3)
    fill = tuple(int(v) for v in np.median(border, axis=0))
    canvas = Image.new("RGB", (side, side), fill)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas.resize((size, size), Image.Resampling.BICUBIC)


def image_to_tensor(image, size: int, device="cpu"):
    """PIL -> float tensor (1, 3, size, size) in [-1, 1], the generator's range."""
    import torch

    arr = np.asarray(fit_square(image, size), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).to(device)


def tensor_to_images(batch) -> list:
    """Tensor (N, 3, H, W) in [-1, 1] -> list of PIL images."""
    from PIL import Image

    arr = ((batch.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to("cpu").numpy().astype(np.uint8)
    return [Image.fromarray(a.transpose(1, 2, 0)) for a in arr]


def save_png(image, target: Path) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return write_bytes_atomic(target, buffer.getvalue())
