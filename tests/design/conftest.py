"""Small stand-ins with the promised shapes, so the design tests run in seconds on a CPU:

- ``LayoutEncoder``: the embedding of an image is its 4x4 colour layout, centred and L2-normalised; like the real
  encoders it has ``key``, ``dim``, ``has_text`` and ``embed_images(list[PIL]) -> (N, dim)``.
- ``LayoutGenerator``: ``forward(z, cond) -> images in [-1, 1] NCHW`` whose coarse colours follow the condition and
  whose fine detail follows z, i.e. a generator that has learned to respect its condition (what the GAN stage
  trains for), with a renderer carrying the attributes of ``trendgan.gan.load_generator``'s Renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from trendgan.runs import ForecastRun, StylesRun, start_run


class LayoutEncoder:
    key = "test-layout"
    dim = 48
    has_text = False

    def embed_images(self, images):
        rows = []
        for image in images:
            small = image.convert("RGB").resize((4, 4), Image.Resampling.BOX)
            rows.append(np.asarray(small, dtype=np.float32).reshape(-1) / 127.5 - 1.0)
        rows = np.stack(rows)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True).clip(1e-8)


class LayoutEncoderWithText(LayoutEncoder):
    """A 'text tower' that knows a few colour words: 'red' is the layout of a plain red image."""

    has_text = True
    colours = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (30, 60, 220)}

    def embed_texts(self, texts):
        return self.embed_images([Image.new("RGB", (8, 8), self.colours[t]) for t in texts])


class LayoutGenerator(nn.Module):
    def __init__(self, z_dim=16, cond_dim=48, size=32, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.z_dim, self.size = z_dim, size
        self.detail = nn.Linear(z_dim, 3 * size * size)
        self.gain = nn.Parameter(torch.tensor(6.0))

    def forward(self, z, cond):
        cond = nn.functional.normalize(cond.float(), dim=1)
        # the encoder flattens 4x4 pixels row by row, RGB last; lay the condition out the same way
        coarse = torch.tanh(self.gain * cond.view(-1, 4, 4, 3).permute(0, 3, 1, 2))
        coarse = nn.functional.interpolate(coarse, size=self.size, mode="bilinear", align_corners=False)
        detail = torch.tanh(self.detail(z)).view(-1, 3, self.size, self.size)
        return (0.8 * coarse + 0.2 * detail).clamp(-1, 1)


@dataclass
class ToyRenderer:
    generator: nn.Module
    z_dim: int = 16
    cond_dim: int = 48
    image_size: int = 32
    encoder_key: str = "test-layout"
    device: object = torch.device("cpu")

    def render(self, conditions, seed=0, per_condition=1):
        cond = np.repeat(np.atleast_2d(np.asarray(conditions, np.float32)), per_condition, axis=0)
        z = torch.randn(len(cond), self.z_dim, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            images = self.generator(z, torch.from_numpy(cond))
        return ((images + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


def _layout_to_condition(encoder, colours):
    """A condition whose render shows the given colours left to right (a 'garment' with a known look)."""
    bands = Image.new("RGB", (len(colours), 1))
    for i, c in enumerate(colours):
        bands.putpixel((i, 0), c)
    return encoder.embed_images([bands.resize((64, 64), Image.Resampling.NEAREST)])[0]


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    # Many tiny ops: see tests/conftest.py.
    yield


@pytest.fixture
def encoder():
    return LayoutEncoder()


@pytest.fixture
def text_encoder():
    return LayoutEncoderWithText()


@pytest.fixture
def renderer():
    return ToyRenderer(generator=LayoutGenerator().eval())


@pytest.fixture
def looks(encoder):
    """Condition vectors of a few distinct looks."""
    return {
        "coral_navy": _layout_to_condition(encoder, [(240, 110, 90), (20, 30, 90)]),
        "green_yellow": _layout_to_condition(encoder, [(40, 170, 60), (240, 220, 40)]),
        "grey": _layout_to_condition(encoder, [(120, 120, 120), (200, 200, 200)]),
        "purple": _layout_to_condition(encoder, [(120, 40, 160), (200, 120, 220)]),
    }


@pytest.fixture
def draw(renderer, tmp_path):
    """``draw(condition, seed, name)`` -> path of a 64 px PNG the toy generator drew (a reachable garment)."""

    def _draw(condition, seed=0, name="garment.png"):
        pixels = renderer.render(condition[None], seed=seed)[0]
        path = tmp_path / name
        Image.fromarray(pixels).resize((64, 64), Image.Resampling.BICUBIC).save(path)
        return path

    return _draw


@pytest.fixture
def styles_run(store, looks, draw):
    """A finished styles run in the documented format: two styles in the toy encoder's space."""
    import pandas as pd

    examples = [str(draw(looks["green_yellow"], seed=5, name="style-example.png"))]
    frame = pd.DataFrame({
        "style_id": [0, 1],
        "name": ["green yellow blocks", "grey tones"],
        "size": [10, 8],
        "share": [0.55, 0.45],
        "centroid": [looks["green_yellow"].tolist(), looks["grey"].tolist()],
        "representatives": [["a"], ["b"]],
        "representative_paths": [examples, []],
    })
    with start_run(store, StylesRun, name="20260101-000000", settings={"period": "W"},
                   inputs={"encoder": "test-layout"}) as run:
        run.write_table("styles", frame)
    return run.folder


@pytest.fixture
def forecast_run(store, styles_run):
    """A finished forecast run whose labels say style 1 (grey tones) is rising and style 0 declining."""
    import pandas as pd

    labels = pd.DataFrame({
        "unique_id": [0, 1],
        "trend": ["declining", "rising"],
        "change": [-0.3, 0.4],
        "confidence": [0.8, 0.7],
        "yoy": ["down", "up"],
        "model": ["ets", "ets"],
    })
    with start_run(store, ForecastRun, name="20260101-000001", inputs={"styles_run": styles_run.name}) as run:
        run.write_table("labels", labels)
    return run.folder
