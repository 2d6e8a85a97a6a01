"""The GAN recipe on tensors: hinge loss, DiffAugment (adaptive), mismatched-condition negatives, EMA generator.

With a projected discriminator (``trendgan.gan.projected``) the fakes go through its frozen feature network once per
step: detached for the discriminator's update, with their graph for the generator's; its logits come per critic
(feature heads, pixel critic), each critic's hinge loss weighted by ``discriminator.loss_weights``.

Nothing here knows about the store; ``trendgan.gan.train`` feeds it the store's images and the benchmark feeds it
Fashion-MNIST.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from trendgan.devices import autocast
from trendgan.gan.augment import diff_augment, parse_policy
from trendgan.gan.config import GanConfig, create_gan, load_config
from trendgan.gan.distributed import all_agree, average_gradients, same_everywhere, summed
from trendgan.gan.networks import normalise, soft_contrast_loss

CHECKPOINT_FORMAT = 1
ADA_INTERVAL = 4  # steps between updates of the augmentation probability, as in StyleGAN2-ADA


class GanTrainer:
    """Holds G, D, the EMA generator and their optimisers; ``train_step`` does one round of D and G updates.

    ``images`` are uint8 tensors (N, 3, H, W) at the config's image size; ``conditions`` float (N, cond_dim).
    Randomness comes from torch's global generator, seeded here and saved in checkpoints, so a resumed run
    draws the same batches it would have drawn.
    """

    def __init__(self, config: GanConfig | str | dict, cond_dim: int, device="cpu", seed: int = 0,
                 rank: int = 0, world: int = 1):
        self.config = load_config(config)
        # Data parallel (trendgan.gan.distributed): the same weights in every process, each drawing its own batches.
        self.rank, self.world = int(rank), int(world)
        parse_policy(self.config.diffaug)  # fail early on a bad policy
        self.cond_dim = int(cond_dim)
        self.device = torch.device(device)
        self.seed = seed
        torch.manual_seed(seed)
        self.generator, self.discriminator = create_gan(self.config, self.cond_dim)
        self.generator.to(self.device)
        self.discriminator.to(self.device)
        self.ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        if self.world > 1:
            torch.manual_seed(seed + 1_000_003 * self.rank)  # the same weights (seeded above), other batches
        c = self.config
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=c.lr_g, betas=tuple(c.betas))
        # Only what trains: a projected discriminator's feature network and random mixing stay as they were built.
        trainable = [p for p in self.discriminator.parameters() if p.requires_grad]
        self.opt_d = torch.optim.Adam(trainable, lr=c.lr_d, betas=tuple(c.betas))
        # fp16 needs loss scaling; bf16 (chosen by devices.autocast where the GPU has it) does not.
        use_fp16 = self.device.type == "cuda" and not torch.cuda.is_bf16_supported()
        self.scaler = torch.amp.GradScaler("cuda", enabled=use_fp16)
        self.step = 0
        self.images_seen = 0
        self.seconds = 0.0
        # Adaptive augmentation: without a target every image is augmented, as plain DiffAugment does.
        self.augment_p = 0.0 if self.config.ada_target > 0 else 1.0
        self._real_signs = [0.0, 0]  # sum of sign(D(real)) and count since the last adjustment
        self.sample_weights: torch.Tensor | None = None  # see balance_styles
        self.probe = None  # the frozen condition probe (probe_weight > 0; fit_condition_probe)
        self.probe_fit: dict = {}  # how well the probe reads the real images' conditions, when fitted in this process

    def balance_styles(self, style_index) -> None:
        """Draw training images with weight (size of their style) ** -style_balance: at 1 every style is drawn
        equally often, so a style of 80 images gets as many steps as one of 800 (``style_index``: each image's style,
        -1 for images in none, which count as one group). Nothing changes at 0, or when there is one style."""
        _, inverse, sizes = torch.unique(torch.as_tensor(np.asarray(style_index)).long(), return_inverse=True,
                                         return_counts=True)
        balanced = self.config.style_balance > 0 and len(sizes) >= 2
        self.sample_weights = sizes[inverse].double() ** -self.config.style_balance if balanced else None

    # ------------------------------------------------------------------ one step
    def _batch(self, images: torch.Tensor, conditions: torch.Tensor):
        if self.sample_weights is None:
            index = torch.randint(len(images), (self.config.batch,))
        else:
            index = torch.multinomial(self.sample_weights, self.config.batch, replacement=True)
        real = images[index].to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)
        if self.config.mirror:
            flip = torch.rand(len(index), device=self.device) < 0.5
            real = torch.where(flip[:, None, None, None], real.flip(3), real)
        return real, conditions[index].to(self.device, non_blocking=True).float(), index

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.z_dim, device=self.device)

    def _smooth(self, cond: torch.Tensor) -> torch.Tensor:
        """The unit-length condition plus Gaussian noise of norm about ``cond_noise``.

        Every training image is conditioned on its own embedding: without noise each condition has exactly one real
        image, and a deterministic map from condition to image (z ignored) fits the data. With noise, images whose
        embeddings are close share conditions and p(image | condition) has spread. On Fashion-MNIST (pixel-PCA
        conditions, 800 steps) noise of norm 0.3 or 0.5 alone still left z unused; the diversity term
        (``diversity_weight``) is what made renders vary with z. Isotropic noise blurs every direction alike;
        ``cond_mix`` (``_mix``) moves conditions along the data instead, toward their neighbours' mean.
        """
        cond = normalise(cond)
        if self.config.cond_noise <= 0:
            return cond
        return cond + torch.randn_like(cond) * (self.config.cond_noise / cond.shape[1] ** 0.5)

    def _mix(self, cond: torch.Tensor, conditions: torch.Tensor) -> torch.Tensor:
        """Replace a share (``cond_mix``) of the batch's conditions by soft means of similar images' conditions.

        Renders are asked for at style centroids (means of many images' vectors), but every training condition is
        one image's own vector, which pins down that image's pose, size and backdrop: a map from condition to image
        that ignores z fits the data, and a centroid, a kind of condition never seen in training, gets one average
        garment. Here some images are conditioned instead on sum_j w_j c_j over a random pool of the training set's
        conditions, w = softmax_j(cos(c_i, c_j) / cond_mix_temperature): a mean over the images like image i, as
        a centroid is. The same mean fits many real images, so G has to use z to draw them all.
        """
        c = self.config
        if c.cond_mix <= 0:
            return cond
        pool = conditions[torch.randint(len(conditions), (c.cond_mix_pool,))].to(self.device).float()
        pool = normalise(pool)
        unit = normalise(cond)
        weights = torch.softmax(unit @ pool.t() / c.cond_mix_temperature, dim=1)
        mixed = normalise(weights @ pool)
        chosen = torch.rand(len(cond), 1, device=self.device) < c.cond_mix
        return torch.where(chosen, mixed, unit)

    def _to_centroid(self, cond: torch.Tensor, index: torch.Tensor, centroids: torch.Tensor | None) -> torch.Tensor:
        """Replace a share (``cond_centroid``) of the batch's conditions by each image's style centroid.

        Renders are asked for at a style's centroid (``gan.renders``), a vector no training image has as its own:
        trained only on images' own vectors, G meets the centroid out of distribution and draws one average garment
        (Fashion-MNIST's shirt centroid came out as a generic long-sleeved top). Conditioned on the centroid for a
        share of the steps, every real image of the style is a right answer to "render this style", so the
        centroid's renders are trained in distribution, and G has to use z to cover the style's images.
        ``centroids`` (N, cond_dim) holds each training image's style centroid (its own vector where it has no
        style); without it, or at share 0, nothing changes and no random number is drawn.
        """
        share = self.config.cond_centroid
        if share <= 0 or centroids is None:
            return cond
        target = centroids[index].to(self.device, non_blocking=True).float()
        chosen = torch.rand(len(cond), 1, device=self.device) < share
        return torch.where(chosen, target, cond)

    def train_step(self, images: torch.Tensor, conditions: torch.Tensor,
                   centroids: torch.Tensor | None = None) -> dict:
        """One round of D and G updates; ``centroids``: each image's style centroid, for ``cond_centroid``."""
        c, G, D = self.config, self.generator, self.discriminator
        reuse = getattr(D, "reuses_fake_features", False)
        self.fit_condition_probe(images, conditions)  # train_loop has fitted it already; a bare train_step may not
        for i in range(c.d_steps):
            real, cond, index = self._batch(images, conditions)
            cond = self._smooth(self._mix(self._to_centroid(cond, index, centroids), conditions))
            n = len(real)
            last = i == c.d_steps - 1
            pair = last and c.diversity_weight > 0 and n >= 2
            if pair:
                # Mode seeking (Mao et al. 2019): the second half of the fakes repeats the first half's conditions
                # with fresh z, so the G update can ask that different z give different images.
                half = n // 2
                fake_cond = torch.cat([cond[:half], cond[:half], cond[2 * half :]])
            else:
                fake_cond = cond
            z = self._noise(n)
            # The last D round's fakes keep their graph and serve the G update too: one G forward per step.
            with torch.set_grad_enabled(last), autocast(self.device):
                fake = G(z, fake_cond)
            with autocast(self.device):
                if reuse:
                    with torch.no_grad():  # nothing before the heads trains
                        real_maps = D.backbone(diff_augment(real, c.diffaug, self.augment_p))
                    real_features = D.heads(real_maps)
                else:
                    real_features = D.features(diff_augment(real, c.diffaug, self.augment_p))
                d_real = D.score(real_features, cond)
                if reuse:
                    # The frozen feature network is the expensive part and does not change when D's heads do, so
                    # the fakes go through it once: detached for the D update, with their graph for the G update.
                    with torch.set_grad_enabled(last):
                        fake_maps = D.backbone(diff_augment(fake if last else fake.detach(), c.diffaug, self.augment_p))
                    d_fake = D.score(D.heads([m.detach() for m in fake_maps]), fake_cond)
                else:
                    d_fake = D(diff_augment(fake.detach(), c.diffaug, self.augment_p), fake_cond)
                loss_d = _hinge(D, d_real, 1.0) + _hinge(D, d_fake, -1.0)
                if c.cond_contrast_weight > 0 and n > 1:
                    # Only real images teach D which condition an image fits; fakes are judged by it in the G step.
                    loss_d = loss_d + c.cond_contrast_weight * condition_contrast(D, real_features, cond,
                                                                                  c.cond_contrast_temperature)
                if c.mismatch_weight > 0 and n > 1:
                    # A real image with another image's condition is a negative: D (and so G) must respect conditions.
                    wrong = cond.roll(1, dims=0)
                    loss_d = loss_d + c.mismatch_weight * _hinge(D, D.score(real_features, wrong), -1.0)
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(loss_d).backward()
            average_gradients(D, self.world)
            self.scaler.step(self.opt_d)
            self.scaler.update()
            first_real = _critics(d_real)[0].detach().float()
            self._real_signs[0] += float(first_real.sign().mean()) * len(first_real)
            self._real_signs[1] += len(first_real)

        with autocast(self.device):
            if reuse:
                fake_features = D.heads(fake_maps)
            else:
                fake_features = D.features(diff_augment(fake, c.diffaug, self.augment_p))
            loss_g = -_weighted_mean(D, D.score(fake_features, fake_cond))
            loss = loss_g
            if c.cond_contrast_weight > 0 and n > 1:
                loss = loss + c.cond_contrast_weight * condition_contrast(D, fake_features, fake_cond,
                                                                          c.cond_contrast_temperature)
            probe_loss = None
            if c.probe_weight > 0 and n > 1:
                # Fixed by the real images, so G cannot win it by moving a critic: the render's features must say
                # which of the batch's conditions made it.
                probe_loss = self.probe.info_nce(D.pooled_features(fake_maps), fake_cond)
                loss = loss + c.probe_weight * probe_loss
            if pair:
                dx = (fake[:half] - fake[half : 2 * half]).float().abs().mean(dim=(1, 2, 3))
                dz = (z[:half] - z[half : 2 * half]).abs().mean(dim=1)
                # MSGAN's ratio, inverted and bounded: small when fakes differ as much as their z do.
                loss = loss + c.diversity_weight / (1e-5 + (dx / dz).mean())
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        average_gradients(G, self.world)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        self._update_ema()
        self.step += 1
        self.images_seen += c.batch * c.d_steps * self.world
        if c.ada_target > 0 and self.step % ADA_INTERVAL == 0:
            self._adapt_augmentation()
        return {
            "loss_d": float(loss_d.detach()),
            "loss_g": float(loss_g.detach()),
            "d_real": float(_critics(d_real)[0].detach().float().mean()),
            "d_fake": float(_critics(d_fake)[0].detach().float().mean()),
            "augment_p": self.augment_p,
            **({"probe_loss": float(probe_loss.detach())} if probe_loss is not None else {}),
        }

    def same_weights_everywhere(self) -> None:
        """Under torchrun: every process starts from process 0's weights (built or loaded) and, after a resume,
        draws batches of its own (the checkpoint holds process 0's random state)."""
        if self.world <= 1:
            return
        for module in (self.generator, self.discriminator, self.ema):
            same_everywhere(module, self.world)
        torch.manual_seed(self.seed + 1_000_003 * self.rank + self.step)

    def _adapt_augmentation(self) -> None:
        """ADA's overfitting heuristic: E[sign D(real)] near 1 means D is sure of every real image, i.e. it has
        started to memorise them; augment more. Below the target, augment less (it slows learning)."""
        total, count = summed(self._real_signs, self.world)  # every process adapts p the same way
        overfit = total / max(count, 1)
        images = self.config.batch * self.config.d_steps * ADA_INTERVAL
        change = images / (self.config.ada_kimg * 1000.0)
        self.augment_p = min(1.0, max(0.0, self.augment_p + (change if overfit > self.config.ada_target else -change)))
        self._real_signs = [0.0, 0]

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Early on the EMA would average in random weights; ramp the decay up with the step count.
        decay = min(self.config.ema_decay, (1 + self.step) / (10 + self.step))
        for ema_p, p in zip(self.ema.parameters(), self.generator.parameters()):
            ema_p.lerp_(p.detach(), 1 - decay)

    @torch.no_grad()
    def fit_condition_standardisation(self, conditions: torch.Tensor) -> None:
        """With ``cond_standardise``: fit the generator's (and its EMA's) condition statistics on the training
        conditions, once, before the first step (a resumed run keeps those in its checkpoint)."""
        if not self.config.cond_standardise or self.step > 0:
            return
        for module in (self.generator, self.ema):
            module.fit_condition_standardisation(conditions.to(self.device))

    def fit_condition_probe(self, images: torch.Tensor, conditions: torch.Tensor) -> dict | None:
        """With ``probe_weight``: fit the frozen condition probe (``trendgan.gan.probe``) on the real images, once,
        before the first step; a resumed run keeps the one in its checkpoint. Returns the fit's figures."""
        if self.config.probe_weight <= 0 or self.probe is not None:
            return None
        from trendgan.gan.probe import fit_probe

        # A private seed: fitting draws no number from the training run's stream.
        self.probe, info = fit_probe(self.discriminator, images, conditions, self.config.diffaug, self.seed)
        self.probe_fit = info
        return info

    @torch.no_grad()
    def refresh_ema_statistics(self, conditions: torch.Tensor, batches: int = 8) -> None:
        """Recompute the EMA generator's batch-norm statistics from its own activations ("standing statistics").

        The EMA weights never ran in training mode, so the running statistics of the live generator do not fit
        them; rendering uses eval mode, where these statistics make each image independent of its batch.
        """
        norms = [m for m in self.ema.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the refresh batches
        self.ema.train()
        # A private generator, so refreshing never shifts the training run's random stream.
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + self.step)
        for _ in range(batches):
            index = torch.randint(len(conditions), (self.config.batch,), generator=rng)
            cond = conditions[index].to(self.device).float()
            z = torch.randn(len(cond), self.config.z_dim, generator=rng).to(self.device)
            self.ema(z, cond)
        for m in norms:
            m.momentum = 0.1
        self.ema.eval()

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "format": CHECKPOINT_FORMAT,
            "config": self.config.to_dict(),
            "cond_dim": self.cond_dim,
            "seed": self.seed,
            "step": self.step,
            "images_seen": self.images_seen,
            "seconds": self.seconds,
            "augment": {"p": self.augment_p, "real_signs": list(self._real_signs)},
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "ema": self.ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng,
            **({"condition_probe": self.probe.state_dict()} if self.probe is not None else {}),
        }

    def load_state_dict(self, state: dict) -> "GanTrainer":
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.images_seen = int(state.get("images_seen", 0))
        self.seconds = float(state.get("seconds", 0.0))
        if "augment" in state:
            self.augment_p = float(state["augment"]["p"])
            self._real_signs = [float(state["augment"]["real_signs"][0]), int(state["augment"]["real_signs"][1])]
        if state.get("condition_probe") is not None:
            from trendgan.gan.probe import ConditionProbe

            weight = state["condition_probe"]["weight"]
            self.probe = ConditionProbe(*weight.shape).to(self.device)
            self.probe.load_state_dict(state["condition_probe"])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        return self


def condition_contrast(D, features, cond: torch.Tensor, temperature: float) -> torch.Tensor:
    """Class-contrastive loss without classes: cross-entropy between "which of the batch's conditions does image i
    fit" (D's ``contrast_logits``) and soft targets from how alike the conditions themselves are
    (softmax_j cos(c_i, c_j) / temperature). Identical or near-identical conditions (the mode-seeking pairs, images
    of one style) share the target, so they are not pushed apart as ContraGAN's one-hot targets would."""
    return soft_contrast_loss(D.contrast_logits(features, cond).float(), normalise(cond).float(), temperature)


def _critics(logits) -> list:
    """A discriminator's scores as a list, one tensor per critic (the conv discriminator has one)."""
    return list(logits) if isinstance(logits, (list, tuple)) else [logits]


def _hinge(D, logits, sign: float) -> torch.Tensor:
    """Hinge loss for real (sign 1) or fake (sign -1) logits, summed over critics with the discriminator's weights."""
    weights = getattr(D, "loss_weights", None) or [1.0]
    return sum(w * F.relu(1 - sign * l).mean() for w, l in zip(weights, _critics(logits)))


def _weighted_mean(D, logits) -> torch.Tensor:
    weights = getattr(D, "loss_weights", None) or [1.0]
    return sum(w * l.mean() for w, l in zip(weights, _critics(logits)))


@dataclass
class LoopHooks:
    """What the loop calls as it goes; each gets the trainer (and the latest losses for ``log``)."""

    log: Callable[[GanTrainer, dict], None] | None = None
    checkpoint: Callable[[GanTrainer], None] | None = None
    sample: Callable[[GanTrainer], None] | None = None
    tick: Callable[[GanTrainer, dict], None] | None = None


def train_loop(
    trainer: GanTrainer,
    images: torch.Tensor,
    conditions: torch.Tensor,
    until_step: int | None = None,
    minutes: float | None = None,
    hooks: LoopHooks | None = None,
    cpu_minutes: float | None = None,
    centroids: torch.Tensor | None = None,
) -> dict:
    """Train until ``until_step`` or until ``minutes`` of wall clock have passed, whichever comes first.

    ``cpu_minutes`` stops after this much CPU time of this process instead (user + system, all threads): on a
    shared machine two models get equal compute even when other work takes a different share during each run.
    ``centroids``: each training image's style centroid (used when the config's ``cond_centroid`` > 0).

    Logs every ``log_every`` steps, checkpoints every ``checkpoint_every`` and draws samples every ``sample_every``
    (as set in the config). Returns the last losses with ``images_per_s`` over this call.
    """
    hooks = hooks or LoopHooks()
    c = trainer.config
    trainer.fit_condition_standardisation(conditions)
    trainer.fit_condition_probe(images, conditions)
    if until_step is None and minutes is None and cpu_minutes is None:
        until_step = c.steps
    deadline = time.monotonic() + 60.0 * minutes if minutes is not None else None
    cpu_deadline = time.process_time() + 60.0 * cpu_minutes if cpu_minutes is not None else None
    started, first_step, seen_at_start = time.perf_counter(), trainer.step, trainer.images_seen
    window_start, window_seen = started, trainer.images_seen
    losses: dict = {}
    while all_agree((until_step is None or trainer.step < until_step)
                    and (deadline is None or time.monotonic() < deadline)
                    and (cpu_deadline is None or time.process_time() < cpu_deadline), trainer.world):
        step_start = time.perf_counter()
        # centroids only when given, so a train_step wrapped with the old signature (the fault tests') still runs
        losses = (trainer.train_step(images, conditions) if centroids is None
                  else trainer.train_step(images, conditions, centroids=centroids))
        trainer.seconds += time.perf_counter() - step_start
        if hooks.tick:
            hooks.tick(trainer, losses)
        if hooks.log and (trainer.step % c.log_every == 0 or trainer.step == until_step):
            now = time.perf_counter()
            rate = (trainer.images_seen - window_seen) / max(now - window_start, 1e-9)
            hooks.log(trainer, {**losses, "images_per_s": rate})
            window_start, window_seen = now, trainer.images_seen
        if hooks.sample and trainer.step % c.sample_every == 0:
            hooks.sample(trainer)
        if hooks.checkpoint and trainer.step % c.checkpoint_every == 0:
            hooks.checkpoint(trainer)
    elapsed = time.perf_counter() - started
    return {
        **losses,
        "steps": trainer.step - first_step,
        "seconds": elapsed,
        "images_per_s": (trainer.images_seen - seen_at_start) / max(elapsed, 1e-9),
    }
