"""A frozen condition probe: "can a render's frozen features tell which condition made it?" (``probe_weight``).

Before the first step a linear ridge map is fitted from the projected discriminator's frozen features of the real
training images (each of its feature maps pooled to one vector, concatenated; the maps the heads see, after the
fixed random mixing, so the fakes' maps from the D forward are reused and no second EfficientNet pass is made) to
their standardised condition vectors. It is never trained again (buffers, no parameters; kept in the checkpoint so a
resumed run is exact). Each generator step then adds ``probe_weight`` x InfoNCE: the probe's prediction for render i
is scored by cosine against every condition of the batch, with cross-entropy toward soft targets from the conditions'
own cosine similarity (``networks.soft_contrast_loss``, as ``trainer.condition_contrast``), so renders of one style
are not pushed apart.

Unlike ``cond_contrast`` nothing here is learnt adversarially: the probe is fixed by the real images, and asks
directly whether the render's features carry its condition (what tells a shirt from a tee and a skirt from a tee).
"""

from __future__ import annotations

import torch
from torch import nn

from trendgan.gan.augment import diff_augment
from trendgan.gan.networks import normalise, soft_contrast_loss

TEMPERATURE = 0.1          # condition_contrast's default temperature, for the logits and the soft targets alike
FIT_IMAGES = 4096          # real images the probe is fitted on (a fixed random draw when the set is larger)
RIDGE_PENALTIES = (0.01, 0.1, 1.0, 10.0)  # per image, on unit-variance features; the best on held-out images is kept


class ConditionProbe(nn.Module):
    """Pooled frozen features -> standardised condition, a fixed linear map (buffers only)."""

    def __init__(self, n_features: int, cond_dim: int):
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_scale", torch.ones(n_features))
        self.register_buffer("cond_mean", torch.zeros(cond_dim))
        self.register_buffer("cond_scale", torch.ones(cond_dim))
        self.register_buffer("weight", torch.zeros(n_features, cond_dim))

    def standard_conditions(self, cond: torch.Tensor) -> torch.Tensor:
        return (normalise(cond.float()) - self.cond_mean) * self.cond_scale

    def predict(self, pooled: torch.Tensor) -> torch.Tensor:
        return ((pooled.float() - self.feature_mean) * self.feature_scale) @ self.weight

    def info_nce(self, pooled: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of "which of the batch's conditions made render i", targets softened by condition likeness."""
        target_space = normalise(self.standard_conditions(cond))
        logits = normalise(self.predict(pooled)) @ target_space.t() / TEMPERATURE
        return soft_contrast_loss(logits, target_space, TEMPERATURE)

    @torch.no_grad()
    def fit(self, pooled: torch.Tensor, conditions: torch.Tensor, seed: int = 0) -> dict:
        """Ridge regression, its penalty chosen on a held-out fifth of the images (R^2); returns what it found."""
        x, unit = pooled.double(), normalise(conditions.float()).double()
        self.feature_mean.copy_(x.mean(0))
        self.feature_scale.copy_(1.0 / x.std(0).clamp_min(1e-6))
        self.cond_mean.copy_(unit.mean(0))
        self.cond_scale.copy_(1.0 / unit.std(0).clamp_min(1e-6))
        x = (x - self.feature_mean.double()) * self.feature_scale.double()
        y = (unit - self.cond_mean.double()) * self.cond_scale.double()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        held, fit = order[: len(x) // 5], order[len(x) // 5 :]
        scores = {a: _r2(y[held], x[held] @ _ridge(x[fit], y[fit], a)) for a in RIDGE_PENALTIES}
        penalty = max(scores, key=scores.get)
        self.weight.copy_(_ridge(x, y, penalty).float())
        return {"probe_penalty": penalty, "probe_held_out_r2": round(scores[penalty], 4)}


def _ridge(x: torch.Tensor, y: torch.Tensor, penalty: float) -> torch.Tensor:
    gram = x.t() @ x + penalty * len(x) * torch.eye(x.shape[1], dtype=x.dtype)
    return torch.linalg.solve(gram, x.t() @ y)


def _r2(y: torch.Tensor, predicted: torch.Tensor) -> float:
    return float(1 - (y - predicted).square().sum() / (y - y.mean(0)).square().sum().clamp_min(1e-12))


@torch.no_grad()
def fit_probe(discriminator, images: torch.Tensor, conditions: torch.Tensor, policy: str, seed: int,
              batch: int = 256) -> tuple[ConditionProbe, dict]:
    """The probe for ``discriminator``'s frozen features of (augmented, as the fakes are) real ``images`` (uint8)."""
    device = next(discriminator.parameters()).device
    with torch.random.fork_rng(devices=[]):  # the training run's random stream is left where it was
        torch.manual_seed(seed)
        pick = torch.randperm(len(images))[:FIT_IMAGES]
        pooled = []
        for start in range(0, len(pick), batch):
            index = pick[start : start + batch]
            real = images[index].to(device).float().div_(127.5).sub_(1.0)
            maps = discriminator.backbone(diff_augment(real, policy, 1.0))
            pooled.append(discriminator.pooled_features(maps).float().cpu())
    pooled = torch.cat(pooled)
    probe = ConditionProbe(pooled.shape[1], conditions.shape[1])
    info = probe.fit(pooled, conditions[pick].float().cpu(), seed=seed)
    return probe.to(device), info
