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

    with torch.no_grad():
        garment_acts, look_acts = features(content), features(style)
        content_target = garment_acts[content_index]
        own_stats = [feature_statistics(garment_acts[i]) for i in style_indices]
        look_stats = [feature_statistics(look_acts[i]) for i in style_indices]

    # One batch holds every (strength, variant) pair: one forward pass per step whatever the strengths asked.
    plan = [(float(s), v) for s in strengths for v in range(n)]
    blend = torch.tensor([s for s, _ in plan], dtype=torch.float32, device=device).view(-1, 1)
    targets = [((1 - blend) * m0 + blend * m1, (1 - blend) * s0 + blend * s1)
               for (m0, s0), (m1, s1) in zip(own_stats, look_stats)]

    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    start = _colour_matched(content, style, blend)
    noise = torch.randn(start.shape, generator=generator).to(device) * settings.variation_noise
    noise[[v == 0 for _, v in plan]] = 0.0  # the first variant of each strength starts clean, so n=1 is deterministic
    pixels = (start + noise).clamp(-1, 1).requires_grad_(True)
    optimiser = torch.optim.Adam([pixels], lr=settings.learning_rate)
    unchanged = (blend.view(-1) == 0).to(device)

    for step in range(settings.steps):
        optimiser.zero_grad()
        acts = features(pixels)
        content_loss = (acts[content_index] - content_target).pow(2).mean(dim=(1, 2, 3))
        style_loss = 0.0
        for index, (mean_t, std_t) in zip(style_indices, targets):
            mean, std = feature_statistics(acts[index])
            style_loss = style_loss + (mean - mean_t).pow(2).mean(1) + (std - std_t).pow(2).mean(1)
        loss = (settings.content_weight * content_loss + settings.style_weight * style_loss).sum()
        # Penalise the roughness of the change, not of the garment, so strength 0 leaves the garment untouched.
        loss = loss + settings.smoothness_weight * _total_variation(pixels - start)
        loss.backward()
        # Strength 0 asks for the garment itself, which is where it starts; Adam would blow float noise in the
        # (zero) gradient up to full-size steps, so those images are left alone.
        pixels.grad[unchanged] = 0.0
        optimiser.step()
        with torch.no_grad():
            pixels.clamp_(-1, 1)
        if on_step is not None:
            on_step(step, loss.item())

    images = tensor_to_images(pixels)
    result: dict[float, list] = {}
    for (strength, _), image in zip(plan, images):
        result.setdefault(strength, []).append(image)
    return result


def _colour_matched(content, style, blend):
    """Start from the garment with its colour statistics moved toward the target's: the optimiser then only has
    to work on texture, so a bounded number of steps on CPU is enough."""
    mean_c, std_c = content.mean(dim=(2, 3), keepdim=True), content.std(dim=(2, 3), keepdim=True) + 1e-5
    mean_s, std_s = style.mean(dim=(2, 3), keepdim=True), style.std(dim=(2, 3), keepdim=True) + 1e-5
    blend = blend.view(-1, 1, 1, 1)
    mean_t = (1 - blend) * mean_c + blend * mean_s
    std_t = (1 - blend) * std_c + blend * std_s
    return ((content - mean_c) / std_c * std_t + mean_t).clamp(-1, 1)


def _total_variation(pixels):
    return (pixels[..., 1:, :] - pixels[..., :-1, :]).abs().mean() + (pixels[..., :, 1:] - pixels[..., :, :-1]).abs().mean()
