"""Differentiable augmentation (Zhao et al. 2020, "DiffAugment"): the same random colour, translation and cutout
applied to real and generated images before the discriminator, so a small dataset is not memorised by D and the
generator still receives gradients through the augmentation.

Each transform can be applied to each image with a probability ``p``, which the trainer adapts to how much the
discriminator overfits (Karras et al. 2020, "ADA"): a large store needs little augmentation and learns faster
without it, a few hundred images need it all the time."""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> list[str]:
    from trendgan.errors import GanError

    names = [p.strip() for p in (policy or "").split(",") if p.strip()]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise GanError(f"unknown DiffAugment policy {', '.join(unknown)}; use a comma list of {', '.join(POLICIES)}")
    return names


def diff_augment(x: torch.Tensor, policy: str, p: float = 1.0) -> torch.Tensor:
    """``x`` with each transform of ``policy`` applied to each image with probability ``p``."""
    if p <= 0:
        return x
    for name in parse_policy(policy):
        out = _AUGMENTS[name](x)
        if p < 1:
            chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p
            out = torch.where(chosen, out, x)
        x = out
    return x


def _color(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean  # contrast


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    shift_y, shift_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-shift_y, shift_y + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-shift_x, shift_x + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device)[None, :, None] + ty
    cols = torch.arange(w, device=x.device)[None, None, :] + tx
    # Pad by one zero pixel and point out-of-range reads at it: a shift that leaves an empty border.
    padded = F.pad(x, [1, 1, 1, 1])
    rows = (rows.clamp(-1, h) + 1).expand(n, h, w)
    cols = (cols.clamp(-1, w) + 1).expand(n, h, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - size_y % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - size_x % 2), (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = ((rows - cy).abs() < size_y / 2) & ((cols - cx).abs() < size_x / 2)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_AUGMENTS = {"color": _color, "translation": _translation, "cutout": _cutout}
