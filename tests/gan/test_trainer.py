"""The GAN recipe on plain tensors: losses move, EMA follows, and a saved state resumes bit for bit."""

import io

import numpy as np
import pytest
import torch

from trendgan.gan.trainer import GanTrainer, train_loop


def _two_colour_set(n=32):
    torch.manual_seed(1)
    images = torch.zeros(n, 3, 16, 16, dtype=torch.uint8)
    images[: n // 2, 0] = 220  # red half
    images[n // 2 :, 2] = 220  # blue half
    conditions = torch.zeros(n, 4)
    conditions[: n // 2, 0] = 1
    conditions[n // 2 :, 1] = 1
    return images, conditions


def test_a_few_steps_move_the_losses_and_the_weights():
    images, conditions = _two_colour_set()
    trainer = GanTrainer("gan-tiny-16", cond_dim=4, seed=0)
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    ema_before = [p.detach().clone() for p in trainer.ema.parameters()]
    history = [trainer.train_step(images, conditions) for _ in range(8)]
    assert trainer.step == 8 and trainer.images_seen == 8 * trainer.config.batch
    assert len({round(h["loss_d"], 6) for h in history}) > 1
    assert len({round(h["loss_g"], 6) for h in history}) > 1
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(ema_before, trainer.ema.parameters()))


def test_train_loop_stops_at_the_step_and_reports_speed():
    images, conditions = _two_colour_set()
    trainer = GanTrainer("gan-tiny-16", cond_dim=4, seed=0)
    logged = []
    summary = train_loop(trainer, images, conditions, until_step=6,
                         hooks=__import__("trendgan.gan.trainer", fromlist=["LoopHooks"]).LoopHooks(
                             log=lambda t, record: logged.append((t.step, record))))
    assert trainer.step == 6 and summary["steps"] == 6
    # the speed is the images actually shown to the discriminator over the time it took, not just "positive"
    assert trainer.images_seen == 6 * trainer.config.batch * trainer.config.d_steps
    assert summary["images_per_s"] == pytest.approx(trainer.images_seen / summary["seconds"], rel=1e-9)
    assert [step for step, _ in logged] == [5, 6]  # every log_every (5) and at the end


def test_saved_state_resumes_exactly_where_it_stopped():
    images, conditions = _two_colour_set()
    straight = GanTrainer("gan-tiny-16", cond_dim=4, seed=3)
    for _ in range(6):
        straight.train_step(images, conditions)

    first = GanTrainer("gan-tiny-16", cond_dim=4, seed=3)
    for _ in range(3):
        first.train_step(images, conditions)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(12345)  # whatever happened in between must not matter
    resumed = GanTrainer("gan-tiny-16", cond_dim=4, seed=3).load_state_dict(torch.load(buffer, weights_only=True))
    assert resumed.step == 3
    for _ in range(3):
        resumed.train_step(images, conditions)
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.ema.parameters(), resumed.ema.parameters()):
        assert torch.equal(a, b)


def test_ema_statistics_make_rendering_independent_of_the_batch():
    images, conditions = _two_colour_set()
    trainer = GanTrainer("gan-tiny-16", cond_dim=4, seed=0)
    for _ in range(3):
        trainer.train_step(images, conditions)
    trainer.refresh_ema_statistics(conditions, batches=2)
    z = torch.randn(4, trainer.config.z_dim)
    with torch.no_grad():
        together = trainer.ema(z, conditions[[0, 1, 20, 21]])
        alone = trainer.ema(z[:1], conditions[:1])
    assert torch.allclose(together[:1], alone, atol=1e-5)


@pytest.mark.gpu
def test_mixed_precision_training_on_cuda():
    images, conditions = _two_colour_set()
    trainer = GanTrainer("gan-tiny-16", cond_dim=4, device="cuda", seed=0)
    history = [trainer.train_step(images, conditions) for _ in range(4)]
    assert all(np.isfinite([h["loss_d"], h["loss_g"]]).all() for h in history)
    trainer.refresh_ema_statistics(conditions, batches=1)
    with torch.no_grad():
        out = trainer.ema(torch.randn(2, trainer.config.z_dim, device="cuda"), conditions[:2].cuda())
    assert out.dtype == torch.float32 and out.is_cuda


def test_condition_noise_has_the_configured_norm_and_keeps_the_direction():
    from trendgan.gan.config import load_config, replace

    trainer = GanTrainer(replace(load_config("gan-tiny-16"), cond_noise=0.3), cond_dim=256, seed=0)
    cond = torch.randn(64, 256) * 5  # any length: the trainer works on unit vectors like the generator
    noisy = trainer._smooth(cond)
    unit = cond / cond.norm(dim=1, keepdim=True)
    noise_norm = (noisy - unit).norm(dim=1)
    assert abs(float(noise_norm.mean()) - 0.3) < 0.03
    assert float(torch.nn.functional.cosine_similarity(noisy, unit).min()) > 0.85
    plain = GanTrainer("gan-tiny-16", cond_dim=256, seed=0)
    assert torch.allclose(plain._smooth(cond), unit)


def test_diversity_term_trains_and_pairs_share_conditions(monkeypatch):
    from trendgan.gan.config import load_config, replace

    images, conditions = _two_colour_set()
    trainer = GanTrainer(replace(load_config("gan-tiny-16"), cond_noise=0.2, diversity_weight=1.0), cond_dim=4, seed=0)
    seen = []
    forward = trainer.generator.forward
    monkeypatch.setattr(trainer.generator, "forward", lambda z, cond: (seen.append(cond), forward(z, cond))[1])
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    losses = [trainer.train_step(images, conditions) for _ in range(3)]
    assert all(np.isfinite(list(h.values())).all() for h in losses)
    half = trainer.config.batch // 2
    assert torch.equal(seen[0][:half], seen[0][half : 2 * half])
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))



def test_adaptive_augmentation_rises_when_the_discriminator_is_sure_of_every_real_image():
    from dataclasses import replace

    from trendgan.gan.config import load_config

    images, conditions = _two_colour_set()
    config = replace(load_config("gan-tiny-16"), ada_target=0.6, ada_kimg=0.5)
    trainer = GanTrainer(config, cond_dim=4, seed=0)
    assert trainer.augment_p == 0.0
    trainer._real_signs = [16.0, 16]  # every real image scored above 0: memorising
    trainer._adapt_augmentation()
    assert trainer.augment_p == pytest.approx(16 * 4 / 500)
    trainer._real_signs = [-4.0, 16]  # unsure: augment less again
    trainer._adapt_augmentation()
    assert trainer.augment_p == 0.0
    for _ in range(8):
        record = trainer.train_step(images, conditions)
    assert record["augment_p"] == trainer.augment_p and 0.0 <= trainer.augment_p <= 1.0
    resumed = GanTrainer(config, cond_dim=4, seed=0).load_state_dict(trainer.state_dict())
    assert resumed.augment_p == trainer.augment_p and resumed._real_signs == trainer._real_signs


def test_without_a_target_every_image_is_augmented():
    assert GanTrainer("gan-tiny-16", cond_dim=4, seed=0).augment_p == 1.0


def test_real_images_are_mirrored_only_when_the_config_asks():
    from dataclasses import replace

    from trendgan.gan.config import load_config

    images = torch.zeros(8, 3, 16, 16, dtype=torch.uint8)
    images[:, :, :, :4] = 255  # every garment on the left: a shoe's toe
    conditions = torch.eye(4)[torch.arange(8) % 4]
    plain = GanTrainer("gan-tiny-16", cond_dim=4, seed=0)
    real, _, _ = plain._batch(images, conditions)
    assert (real[:, :, :, :4] == 1).all() and (real[:, :, :, 4:] == -1).all()
    mirroring = GanTrainer(replace(load_config("gan-tiny-16"), mirror=True), cond_dim=4, seed=0)
    real, _, _ = mirroring._batch(images, conditions)
    flipped = (real[:, 0, 0, -1] == 1)
    assert flipped.any() and not flipped.all()


def test_centroid_conditioning_swaps_a_share_of_conditions_for_the_style_centroid():
    from dataclasses import replace

    from trendgan.gan.config import load_config

    images, conditions = _two_colour_set()
    centroids = torch.full_like(conditions, 7.0)
    plain = GanTrainer("gan-tiny-16", cond_dim=4, seed=0)
    index = torch.arange(len(conditions))
    before = torch.get_rng_state()
    assert torch.equal(plain._to_centroid(conditions, index, centroids), conditions)
    assert torch.equal(torch.get_rng_state(), before)  # off: the random stream of a default run is untouched
    trainer = GanTrainer(replace(load_config("gan-tiny-16"), cond_centroid=0.5), cond_dim=4, seed=0)
    assert torch.equal(trainer._to_centroid(conditions, index, None), conditions)  # no styles: nothing to swap in
    swapped = trainer._to_centroid(conditions, index, centroids)
    is_centroid = (swapped == 7.0).all(dim=1)
    assert is_centroid.any() and not is_centroid.all()
    assert torch.equal(swapped[~is_centroid], conditions[~is_centroid])
    losses = trainer.train_step(images, conditions, centroids)
    assert np.isfinite(losses["loss_g"])


def test_style_balance_draws_a_small_style_as_often_as_a_large_one():
    from dataclasses import replace

    from trendgan.gan.config import load_config

    images = torch.zeros(100, 3, 16, 16, dtype=torch.uint8)
    conditions = torch.zeros(100, 4)
    styles = np.array([0] * 90 + [1] * 10)  # a style of 90 images and one of 10
    plain = GanTrainer("gan-tiny-16", cond_dim=4, seed=0)
    plain.balance_styles(styles)
    assert plain.sample_weights is None  # style_balance 0: drawn uniformly, as before
    trainer = GanTrainer(replace(load_config("gan-tiny-16"), style_balance=1.0, batch=64), cond_dim=4, seed=0)
    trainer.balance_styles(np.zeros(100))
    assert trainer.sample_weights is None  # one style: nothing to balance
    trainer.balance_styles(styles)
    drawn = np.concatenate([trainer._batch(images, conditions)[2].numpy() for _ in range(60)])
    small = float((drawn >= 90).mean())
    assert 0.42 < small < 0.58  # about half the draws, against 0.10 uniformly
    assert len(np.unique(drawn[drawn < 90])) > 80  # the large style's images all still take their turn


def test_condition_standardisation_is_fitted_once_kept_in_the_state_and_absent_means_identity():
    from trendgan.errors import ConfigError
    from trendgan.gan.config import create_generator, load_config, replace
    from trendgan.gan.networks import normalise

    images, conditions = _two_colour_set()
    conditions = conditions + 0.2 * torch.rand(conditions.shape, generator=torch.Generator().manual_seed(0))
    config = replace(load_config("proj-tiny-16"), cond_standardise=True)
    trainer = GanTrainer(config, cond_dim=4, seed=0)
    train_loop(trainer, images, conditions, until_step=2)
    for module in (trainer.generator, trainer.ema):
        standardised = (normalise(conditions) - module.cond_mean) * module.cond_scale
        assert standardised.mean(dim=0).abs().max() < 1e-5                            # centred
        assert standardised.square().sum(dim=1).mean() == pytest.approx(1.0, rel=0.05)  # about unit length
    fitted = trainer.ema.cond_scale.clone()
    train_loop(trainer, images, conditions * 3 + 1, until_step=3)   # fitted before the first step only
    assert torch.equal(trainer.ema.cond_scale, fitted)
    buffer = io.BytesIO()
    torch.save(trainer.state_dict(), buffer)
    buffer.seek(0)
    resumed = GanTrainer(config, cond_dim=4, seed=0).load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(resumed.ema.cond_scale, fitted) and torch.equal(resumed.ema.cond_mean, trainer.ema.cond_mean)

    # Without the option nothing is fitted, and a checkpoint written before the statistics existed loads as the
    # identity: the same images as a generator that never had them.
    plain = GanTrainer("proj-tiny-16", cond_dim=4, seed=0)
    train_loop(plain, images, conditions, until_step=1)
    assert not plain.ema.cond_mean.any() and torch.equal(plain.ema.cond_scale, torch.ones(4))
    old_state = {k: v for k, v in plain.ema.state_dict().items() if not k.startswith("cond_")}
    old = create_generator(load_config("proj-tiny-16"), 4).eval()
    old.load_state_dict(old_state)
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(old(z, conditions[:3]), plain.ema(z, conditions[:3]))
    with pytest.raises(ConfigError, match="fastgan"):  # refused when the config is read, before any training
        replace(load_config("gan-tiny-16"), cond_standardise=True)
