"""Generator and discriminator conditioned on vectors in the encoder's space.

Generator: the L2-normalised condition goes through a small MLP to an embedding; the embedding is concatenated with
z at the input and drives conditional batch norm (a per-channel scale and shift) in every block, so the condition
can steer both layout and texture. Discriminator: spectral-norm conv blocks, global sum pooling, a linear output
plus the projection term <embed(condition), features> (Miyato & Koyama 2018), which makes the discriminator judge
whether an image fits its condition, not only whether it looks real.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def normalise(cond: torch.Tensor) -> torch.Tensor:
    # Encoder vectors are compared by cosine; centroids and mixes are shorter than unit length, so scale them back.
    return F.normalize(cond.float(), dim=1, eps=1e-8).to(cond.dtype)


def soft_contrast_loss(logits: torch.Tensor, unit_conditions: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of "which of the batch's conditions goes with item i" (``logits``, N x N) against soft targets
    from how alike the conditions themselves are (softmax_j cos(c_i, c_j) / temperature; ``unit_conditions`` are unit
    rows): items of one style share the target, so they are not pushed apart as one-hot targets would."""
    targets = torch.softmax(unit_conditions @ unit_conditions.t() / temperature, dim=1)
    return -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


class ConditionalBatchNorm(nn.Module):
    """Batch norm without its own affine; scale and shift come from the condition embedding."""

    def __init__(self, channels: int, embed_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.to_scale_shift = nn.Linear(embed_dim, 2 * channels)
        nn.init.zeros_(self.to_scale_shift.weight)
        nn.init.zeros_(self.to_scale_shift.bias)

    def forward(self, x: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
        scale, shift = self.to_scale_shift(embed).chunk(2, dim=1)
        return self.norm(x) * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


class ConditionContrast(nn.Module):
    """Image and condition embeddings for a class-contrastive loss over a batch (``trainer.condition_contrast``).

    Images: pooled discriminator features (the projected heads' maps averaged over positions and concatenated over
    scales, or the conv discriminator's pooled features), a linear map; conditions: a linear map of the unit-length
    vector. Both are L2-normalised; ``logits(images, conds)[i, j]`` is their cosine
    over ``temperature``.
    """

    def __init__(self, image_dim: int, cond_dim: int, width: int, temperature: float):
        super().__init__()
        self.image = nn.Linear(image_dim, width)
        self.cond = nn.Linear(cond_dim, width)
        self.temperature = temperature

    def logits(self, pooled: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        a = F.normalize(self.image(pooled), dim=1)
        b = F.normalize(self.cond(normalise(cond)), dim=1)
        return a @ b.t() / self.temperature


class UpBlock(nn.Module):
    """Doubles the resolution: residual (BigGAN-style, upsample + two 3x3 convs) or DCGAN-style (one 4x4
    transposed conv, about 2x cheaper, which is what makes CPU training bearable)."""

    def __init__(self, c_in: int, c_out: int, embed_dim: int, residual: bool):
        super().__init__()
        self.residual = residual
        self.norm1 = ConditionalBatchNorm(c_in, embed_dim)
        if residual:
            self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
            self.norm2 = ConditionalBatchNorm(c_out, embed_dim)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
            self.skip = nn.Conv2d(c_in, c_out, 1)
        else:
            self.conv1 = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(x, embed))
        if not self.residual:
            return self.conv1(h)
        h = self.conv1(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = self.conv2(F.relu(self.norm2(h, embed)))
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


class Generator(nn.Module):
    """``forward(z, cond) -> images`` in [-1, 1], NCHW with 3 channels, ``image_size`` square."""

    def __init__(self, config, cond_dim: int):
        super().__init__()
        self.z_dim, self.cond_dim, self.image_size = config.z_dim, cond_dim, config.image_size
        self.residual = config.residual
        widths = [config.g_channels * m for m in config.g_mults]
        self.start_channels = widths[0]
        self.embed = nn.Sequential(
            nn.Linear(cond_dim, config.cond_embed), nn.LeakyReLU(0.2), nn.Linear(config.cond_embed, config.cond_embed)
        )
        self.stem = nn.Linear(config.z_dim + config.cond_embed, widths[0] * 16)
        if self.residual:
            outs = widths[1:] + [config.g_channels]
            self.out_norm = nn.BatchNorm2d(config.g_channels)
            self.to_rgb = nn.Conv2d(config.g_channels, 3, 3, padding=1)
        else:
            # DCGAN-style: the last transposed conv writes RGB at full size; a full-size feature map plus a 3x3
            # conv to RGB would cost about half of the generator's time on a CPU.
            outs = widths[1:] + [3]
        self.blocks = nn.ModuleList(
            UpBlock(c_in, c_out, config.cond_embed, config.residual) for c_in, c_out in zip(widths, outs)
        )

    def forward(self, z: torch.Tensor, cond: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """``truncation`` psi in [0, 1] (rendering only): z enters only through the linear stem and its mean is 0, so
        psi * z moves each render's latent toward the condition's mean latent (psi 0: the condition's mean render)."""
        embed = self.embed(normalise(cond))
        h = self.stem(torch.cat([z * truncation, embed], dim=1)).view(z.shape[0], self.start_channels, 4, 4)
        for block in self.blocks:
            h = block(h, embed)
        if self.residual:
            h = self.to_rgb(F.relu(self.out_norm(h)))
        return torch.tanh(h)


class DownBlock(nn.Module):
    """Halves the resolution with spectral-norm convs: residual (3x3 conv, strided 4x4 conv, pooled 1x1 shortcut)
    or DCGAN-style (one strided 4x4 conv)."""

    def __init__(self, c_in: int, c_out: int, residual: bool):
        super().__init__()
        self.residual = residual
        if residual:
            self.conv1 = spectral_norm(nn.Conv2d(c_in, c_out, 3, padding=1))
            self.conv2 = spectral_norm(nn.Conv2d(c_out, c_out, 4, stride=2, padding=1))
            self.skip = spectral_norm(nn.Conv2d(c_in, c_out, 1))
        else:
            self.conv2 = spectral_norm(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.residual:
            return F.leaky_relu(self.conv2(x), 0.2)
        h = self.conv2(F.leaky_relu(self.conv1(x), 0.2)) + self.skip(F.avg_pool2d(x, 2))
        return F.leaky_relu(h, 0.2)


class Discriminator(nn.Module):
    """``forward(images, cond) -> scores`` (N,); higher means "a real image that fits this condition"."""

    def __init__(self, config, cond_dim: int):
        super().__init__()
        widths = [config.d_channels * m for m in config.d_mults]
        self.blocks = nn.Sequential(*(DownBlock(c_in, c_out, config.residual) for c_in, c_out in zip([3] + widths[:-1], widths)))
        self.out = spectral_norm(nn.Linear(widths[-1], 1))
        self.embed = spectral_norm(nn.Linear(cond_dim, widths[-1], bias=False))
        self.contrast = (ConditionContrast(widths[-1], cond_dim, config.cond_embed, config.cond_contrast_temperature)
                         if config.cond_contrast_weight > 0 else None)

    def forward(self, images: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(images), cond)

    def contrast_logits(self, features: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """(N, N): how well image i fits condition j (``ConditionContrast``); needs ``cond_contrast_weight`` > 0."""
        return self.contrast.logits(features, cond)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled image features; they do not depend on the condition, so one pass can be scored against many."""
        return self.blocks(images).sum(dim=(2, 3))

    def score(self, features: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        projection = (self.embed(normalise(cond)) * features).sum(dim=1)
        return self.out(features).squeeze(1) + projection
