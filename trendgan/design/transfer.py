"""Classic neural style transfer for looks the GAN cannot reach.

The garment's layout is held by a content loss on a mid-level EfficientNet-Lite0 block; its look is pushed toward
the target's per-channel feature means and standard deviations at several depths (the statistics AdaIN matches,
Huang & Belongie 2017), optimised on the pixels as in Gatys et al. 2016. ``strength`` blends the garment's own
statistics with the target's, so 0 leaves the garment as it is and 1 takes the target's look in full.
"""

from __future__ import annotations

from dataclasses import dataclass

from trendgan.design.features import CONTENT_BLOCK, STYLE_BLOCKS, GarmentFeatures, feature_statistics
from trendgan.design.images import image_to_tensor, tensor_to_images


@dataclass
class TransferSettings:
    size: int = 128  # pixels per side; 128-224 is where the backbone's statistics mean something
    steps: int = 80
    learning_rate: float = 0.03
    content_weight: float = 1.0
    style_weight: float = 10.0
    smoothness_weight: float = 1.0  # total variation of the change: keeps the optimiser from painting pixel noise
    variation_noise: float = 0.04  # how different the n variants start


def transfer_style(garment, look, strengths, n: int = 1, settings: TransferSettings | None = None, seed: int = 0,
                   device="cpu", on_step=None) -> dict[float, list]:
    """Render ``garment`` (PIL) in the look of ``look`` (PIL) at each strength; returns {strength: [PIL] * n}."""
    import torch

    settings = settings or TransferSettings()
    features = GarmentFeatures(device, blocks=sorted(set(STYLE_BLOCKS) | {CONTENT_BLOCK}))
    content = image_to_tensor(garment, settings.size, device)
    style = image_to_tensor(look, settings.size, device)
    content_index = features.blocks.index(CONTENT_BLOCK)
    style_indices = [features.blocks.index(b) for b in STYLE_BLOCKS]

    # Catalogue and street photos put the garment on a plain backdrop: take the look from the target's garment,
    # not its backdrop, and change the garment only, so the background stays as it was.
    garment_mask, look_mask = garment_region(content), garment_region(style)
    with torch.no_grad():
        garment_acts, look_acts = features(content), features(style)
        content_target = garment_acts[content_index]
        own_stats = [feature_statistics(garment_acts[i], garment_mask) for i in style_indices]
        look_stats = [feature_statistics(look_acts[i], look_mask) for i in style_indices]

    # One batch holds every (strength, variant) pair: one forward pass per step whatever the strengths asked.
    plan = [(float(s), v) for s in strengths for v in range(n)]
    blend = torch.tensor([s for s, _ in plan], dtype=torch.float32, device=device).view(-1, 1)
    targets = [((1 - blend) * m0 + blend * m1, (1 - blend) * s0 + blend * s1)
               for (m0, s0), (m1, s1) in zip(own_stats, look_stats)]

    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    start = _colour_matched(content, garment_mask, style, look_mask, blend)
    noise = torch.randn(start.shape, generator=generator).to(device) * settings.variation_noise
    noise[[v == 0 for _, v in plan]] = 0.0  # the first variant of each strength starts clean, so n=1 is deterministic
    garment_pixels = (start + noise).clamp(-1, 1).requires_grad_(True)
    optimiser = torch.optim.Adam([garment_pixels], lr=settings.learning_rate)
    unchanged = (blend.view(-1) == 0).to(device)

    def composed():
        return content * (1 - garment_mask) + garment_pixels * garment_mask

    for step in range(settings.steps):
        optimiser.zero_grad()
        pixels = composed()
        acts = features(pixels)
        content_loss = (acts[content_index] - content_target).pow(2).mean(dim=(1, 2, 3))
        style_loss = 0.0
        for index, (mean_t, std_t) in zip(style_indices, targets):
            mean, std = feature_statistics(acts[index], garment_mask)
            style_loss = style_loss + (mean - mean_t).pow(2).mean(1) + (std - std_t).pow(2).mean(1)
        loss = (settings.content_weight * content_loss + settings.style_weight * style_loss).sum()
        # Penalise the roughness of the change, not of the garment, so strength 0 leaves the garment untouched.
        loss = loss + settings.smoothness_weight * _total_variation((garment_pixels - start) * garment_mask)
        loss.backward()
        # Strength 0 asks for the garment itself, which is where it starts; Adam would blow float noise in the
        # (zero) gradient up to full-size steps, so those images are left alone.
        garment_pixels.grad[unchanged] = 0.0
        optimiser.step()
        with torch.no_grad():
            garment_pixels.clamp_(-1, 1)
        if on_step is not None:
            on_step(step, loss.item())

    with torch.no_grad():
        pixels = composed()
    images = tensor_to_images(pixels)
    result: dict[float, list] = {}
    for (strength, _), image in zip(plan, images):
        result.setdefault(strength, []).append(image)
    return result


def _colour_matched(content, content_mask, style, style_mask, blend):
    """Start from the garment with its colour statistics moved toward the target garment's: the optimiser then
    only has to work on texture, so a bounded number of steps on CPU is enough."""
    mean_c, std_c = _masked_moments(content, content_mask)
    mean_s, std_s = _masked_moments(style, style_mask)
    blend = blend.view(-1, 1, 1, 1)
    mean_t = (1 - blend) * mean_c + blend * mean_s
    std_t = (1 - blend) * std_c + blend * std_s
    return ((content - mean_c) / std_c * std_t + mean_t).clamp(-1, 1)


def _masked_moments(images, mask):
    weight = mask.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    mean = (images * mask).sum(dim=(2, 3), keepdim=True) / weight
    var = ((images - mean).pow(2) * mask).sum(dim=(2, 3), keepdim=True) / weight
    return mean, (var + 1e-6).sqrt()


def garment_region(images, threshold: float = 0.12):
    """Soft mask (N, 1, H, W) of what is not the plain backdrop, for images in [-1, 1].

    The backdrop colour is the median of the border pixels; pixels far from it are the garment (or the model
    wearing it), and holes are filled so a white shirt on white keeps its inside. A photo without a plain
    backdrop (the mask would cover almost nothing or almost everything) is taken whole.
    """
    import numpy as np
    import torch
    from scipy import ndimage

    masks = []
    for image in images.detach().cpu():
        border = torch.cat([image[:, 0], image[:, -1], image[:, :, 0], image[:, :, -1]], dim=1)
        backdrop = border.median(dim=1).values.view(3, 1, 1)
        far = ((image - backdrop).abs().amax(0) > threshold).numpy()
        far = ndimage.binary_fill_holes(ndimage.binary_closing(far, iterations=2))
        share = far.mean()
        masks.append(far if 0.05 < share < 0.95 else np.ones_like(far))
    mask = torch.from_numpy(np.stack(masks)[:, None].astype(np.float32)).to(images.device)
    return torch.nn.functional.avg_pool2d(mask, 5, stride=1, padding=2)  # a soft edge, no halo


def _total_variation(pixels):
    return (pixels[..., 1:, :] - pixels[..., :-1, :]).abs().mean() + (pixels[..., :, 1:] - pixels[..., :, :-1]).abs().mean()
