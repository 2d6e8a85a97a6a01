"""A generator built to converge in few steps: FastGAN's (Liu et al., ICLR 2021) upsampling blocks and skip-layer
excitation, conditioned on encoder vectors.

- Each block doubles the resolution into twice the channels it keeps, then conditional batch norm and a gated
  linear unit (GLU): half the channels gate the other half. On a CPU the doubling is one transposed conv; bigger
  configs (``residual: true``) use FastGAN's "big" block (nearest upsampling, two 3x3 convs, noise injection).
- Skip-layer excitation (SLE): a low-resolution feature map is pooled to 4x4, turned into one gate per channel and
  multiplies a map 4x larger. Layout decided early reaches the last layers in one hop, which is what
  lets FastGAN draw coherent shapes after a few thousand steps.
- The condition enters as in ``networks.Generator``: concatenated with z at the input and as the scale and shift
  of every batch norm, so a style steps both the silhouette and the colour.
- ``z_every_block``: z joins the condition embedding in every batch norm's scale and shift (a per-layer modulation,
  as StyleGAN's style vector modulates every layer), so z can still move the shape after the 4x4 layout. Without
  it z enters only at the 4x4 input, and the condition's scale and shift in every later layer dominate it.

Learnt from odegeasslbc/FastGAN-pytorch (models.py) and its conditional variant in autonomousvision/projected-gan
(pg_modules/networks_fastgan.py); written for trendgan's vector conditions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trendgan.gan.networks import ConditionalBatchNorm, normalise

SLE_RATIO = 4  # a map at R px is gated by the map at R / 4 (4 px gates 16 px, 8 px gates 32 px); FastGAN uses 16 at
               # 256 px and up, where a 16x jump still starts from 8 px or more


def _glu(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return a * torch.sigmoid(b)


class NoiseInjection(nn.Module):
    """Per-pixel noise with a learnt strength (zero at the start), for texture that z does not pin down."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.weight * noise


class GluUpBlock(nn.Module):
    """Doubles the resolution into 2 * c_out channels, conditional BN, GLU.

    Small (CPU) blocks upsample with one 4x4 transposed conv, which costs 4.5x fewer multiply-adds than FastGAN's
    nearest upsampling + 3x3 conv at the output size (measured 5x faster per training step on a CPU). ``big``
    blocks are FastGAN's: nearest upsampling, two 3x3 convs, noise injection.
    """

    def __init__(self, c_in: int, c_out: int, embed_dim: int, big: bool):
        super().__init__()
        self.big = big
        if big:
            self.conv1 = nn.Conv2d(c_in, 2 * c_out, 3, padding=1, bias=False)
            self.noise1, self.noise2 = NoiseInjection(), NoiseInjection()
            self.conv2 = nn.Conv2d(c_out, 2 * c_out, 3, padding=1, bias=False)
            self.norm2 = ConditionalBatchNorm(2 * c_out, embed_dim)
        else:
            self.conv1 = nn.ConvTranspose2d(c_in, 2 * c_out, 4, stride=2, padding=1, bias=False)
        self.norm1 = ConditionalBatchNorm(2 * c_out, embed_dim)

    def forward(self, x: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
        if not self.big:
            return _glu(self.norm1(self.conv1(x), embed))
        h = self.noise1(self.conv1(F.interpolate(x, scale_factor=2, mode="nearest")))
        h = _glu(self.norm1(h, embed))
        return _glu(self.norm2(self.noise2(self.conv2(h)), embed))


class SkipExcitation(nn.Module):
    """FastGAN's SLE: channel gates for a large map computed from a small one (pool to 4x4, conv 4x4, swish, 1x1)."""

    def __init__(self, c_small: int, c_big: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_small, c_big, 4, bias=False)
        self.conv2 = nn.Conv2d(c_big, c_big, 1, bias=False)

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        gate = self.conv1(F.adaptive_avg_pool2d(small, 4))
        gate = torch.sigmoid(self.conv2(gate * torch.sigmoid(gate)))
        return big * gate


class FastGenerator(nn.Module):
    """``forward(z, cond) -> images`` in [-1, 1], NCHW RGB, ``image_size`` square; the same interface as
    ``networks.Generator`` so rendering, restyle and design use either.

    Widths: ``g_channels * g_mults[i]`` at 4 * 2**i px. Small configs write RGB with a last transposed conv (a
    full-size feature map plus batch norm and a 3x3 conv to RGB took over half of the generator's CPU time);
    ``residual`` (big) configs keep FastGAN's full-size features and 3x3 conv to RGB.
    """

    def __init__(self, config, cond_dim: int):
        super().__init__()
        self.z_dim, self.cond_dim, self.image_size = config.z_dim, cond_dim, config.image_size
        self.big = bool(config.residual)
        widths = [config.g_channels * m for m in config.g_mults]
        self.start_channels = widths[0]
        self.z_every_block = bool(config.z_every_block)
        norm_dim = config.cond_embed + (config.z_dim if self.z_every_block else 0)  # what every batch norm reads
        self.embed = nn.Sequential(
            nn.Linear(cond_dim, config.cond_embed), nn.LeakyReLU(0.2), nn.Linear(config.cond_embed, config.cond_embed)
        )
        # cond_standardise: (unit condition - mean) * scale, fitted on the training conditions by the trainer
        # (fit_condition_standardisation); 0 and 1 leave the condition as it is, as in checkpoints without them.
        self.register_buffer("cond_mean", torch.zeros(cond_dim))
        self.register_buffer("cond_scale", torch.ones(cond_dim))
        # FastGAN's init layer (a transposed conv on a 1x1 input is this linear map), then BN and GLU.
        self.stem = nn.Linear(config.z_dim + config.cond_embed, 2 * widths[0] * 16, bias=False)
        self.stem_norm = ConditionalBatchNorm(2 * widths[0], norm_dim)
        outs = widths[1:] + [config.g_channels] if self.big else widths[1:]
        self.blocks = nn.ModuleList(
            GluUpBlock(c_in, c_out, norm_dim, self.big) for c_in, c_out in zip(widths, outs)
        )
        self.resolutions = [4 * 2 ** (i + 1) for i in range(len(self.blocks))]
        channels = dict(zip([4] + self.resolutions, widths[:1] + outs))
        self.excite = nn.ModuleDict({
            str(r): SkipExcitation(channels[r // SLE_RATIO], channels[r])
            for r in self.resolutions if r // SLE_RATIO in channels
        })
        last = outs[-1] if outs else widths[0]
        if self.big:
            self.to_rgb = nn.Conv2d(last, 3, 3, padding=1)
        else:
            self.to_rgb = nn.ConvTranspose2d(last, 3, 4, stride=2, padding=1)

    def fit_condition_standardisation(self, conditions: torch.Tensor) -> None:
        """Centre the unit-length conditions on their mean and scale each dimension by 1 / (its standard deviation
        x sqrt(cond_dim)), so a standardised condition is about as long as a unit one but every direction in which
        the training conditions differ counts alike (an encoder's vectors share a large common direction, and a
        pixel PCA's first components dominate after L2 normalisation)."""
        unit = normalise(conditions.float())
        spread = unit.std(dim=0).clamp_min(1e-6)
        self.cond_mean.copy_(unit.mean(dim=0))
        self.cond_scale.copy_(1.0 / (spread * unit.shape[1] ** 0.5))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints written before cond_standardise have no statistics: they load as the identity.
        for name, identity in (("cond_mean", 0.0), ("cond_scale", 1.0)):
            state_dict.setdefault(prefix + name, torch.full_like(getattr(self, name), identity))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, z: torch.Tensor, cond: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """``truncation`` psi in [0, 1] (rendering only) scales the normalised z: z enters only through linear maps
        (the stem and, with ``z_every_block``, the batch norms' scale and shift), so psi * z is the condition's mean
        latent (z's mean is 0) plus psi times z's offset from it, StyleGAN's truncation trick taken at the input."""
        embed = self.embed((normalise(cond) - self.cond_mean) * self.cond_scale)
        # z on the sphere of radius sqrt(z_dim), as FastGAN and StyleGAN do: only its direction matters.
        z = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8) * truncation
        h = self.stem(torch.cat([z, embed], dim=1)).view(z.shape[0], 2 * self.start_channels, 4, 4)
        if self.z_every_block:
            embed = torch.cat([embed, z], dim=1)
        h = _glu(self.stem_norm(h, embed))
        maps = {4: h}
        for resolution, block in zip(self.resolutions, self.blocks):
            h = block(h, embed)
            if str(resolution) in self.excite:
                h = self.excite[str(resolution)](maps[resolution // SLE_RATIO], h)
            maps[resolution] = h
        return torch.tanh(self.to_rgb(h))
