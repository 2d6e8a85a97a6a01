"""The frozen condition probe (probe_weight): fitted once on the real images, never trained, kept in the checkpoint
so a run resumes exactly, and its InfoNCE on the fakes falls when the generator is trained against it."""

import io

import pytest
import torch

from trendgan.errors import ConfigError
from trendgan.gan.config import load_config, replace
from trendgan.gan.trainer import GanTrainer, train_loop


def _two_colour_set(n=32, size=16):
    images = torch.zeros(n, 3, size, size, dtype=torch.uint8)
    images[: n // 2, 0] = 220
    images[n // 2 :, 2] = 220
    images[: n // 2, :, : size // 4] = 240  # a light band on one style only: they differ in layout as well as colour
    conditions = torch.zeros(n, 4)
    conditions[: n // 2, 0] = 1
    conditions[n // 2 :, 1] = 1
    conditions += 0.05 * torch.rand(conditions.shape, generator=torch.Generator().manual_seed(0))
    return images, conditions


def _config(weight=1.0):
    return replace(load_config("proj-tiny-16"), probe_weight=weight)


def test_probe_weight_is_validated():
    with pytest.raises(ConfigError, match="probe_weight"):
        _config(-0.1)
    with pytest.raises(ConfigError, match="projected"):
        replace(load_config("gan-tiny-16"), probe_weight=0.3)
    assert load_config("proj-32").probe_weight == 0.0


def test_the_probe_is_fitted_once_and_never_trained():
    images, conditions = _two_colour_set()
    trainer = GanTrainer(_config(), cond_dim=4, seed=0)
    train_loop(trainer, images, conditions, until_step=1)
    probe = trainer.probe
    assert probe is not None and not list(probe.parameters())  # buffers only: no optimiser can reach it
    assert set(trainer.probe_fit) == {"probe_penalty", "probe_held_out_r2"}  # what train_gan writes to the run
    fitted = {k: v.clone() for k, v in probe.state_dict().items()}
    train_loop(trainer, images, conditions * 3 + 1, until_step=4)  # other data later: the probe stays as fitted
    assert trainer.probe is probe
    assert all(torch.equal(fitted[k], v) for k, v in probe.state_dict().items())
    # Without the option there is no probe and no step reads one.
    plain = GanTrainer("proj-tiny-16", cond_dim=4, seed=0)
    train_loop(plain, images, conditions, until_step=1)
    assert plain.probe is None and "condition_probe" not in plain.state_dict() and plain.probe_fit == {}


def test_fitting_the_probe_leaves_the_random_stream_alone():
    images, conditions = _two_colour_set()
    torch.manual_seed(0)
    GanTrainer(_config(), cond_dim=4, seed=2).fit_condition_probe(images, conditions)
    after_fit = torch.rand(3)
    torch.manual_seed(0)
    GanTrainer(_config(), cond_dim=4, seed=2)
    assert torch.equal(after_fit, torch.rand(3))


def test_a_run_with_the_probe_resumes_exactly_where_it_stopped():
    images, conditions = _two_colour_set()
    straight = GanTrainer(_config(), cond_dim=4, seed=3)
    train_loop(straight, images, conditions, until_step=4)
    first = GanTrainer(_config(), cond_dim=4, seed=3)
    train_loop(first, images, conditions, until_step=2)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(999)
    resumed = GanTrainer(_config(), cond_dim=4, seed=3).load_state_dict(torch.load(buffer, weights_only=True))
    # The checkpoint's probe is the one used: loaded before any step, and never fitted again.
    assert resumed.probe is not None and resumed.fit_condition_probe(255 - images, conditions) is None
    train_loop(resumed, images, conditions, until_step=4)
    for a, b in zip(straight.probe.state_dict().values(), resumed.probe.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)


def test_the_probe_tells_real_styles_apart_and_its_loss_teaches_the_generator():
    images, conditions = _two_colour_set(n=64)
    conditions = conditions[:, :2]  # both dimensions signal: a standardised noise dimension would weigh as much
    trainer = GanTrainer(_config(), cond_dim=2, seed=0)
    info = trainer.fit_condition_probe(images, conditions)
    assert info["probe_held_out_r2"] > 0.5
    # Its gradient reaches G through the frozen features: a step down it lowers the probe's loss on the same fakes.
    G, D = trainer.generator, trainer.discriminator
    z = torch.randn(32, trainer.config.z_dim, generator=torch.Generator().manual_seed(1))
    cond = conditions[::2]

    def probe_loss():
        return trainer.probe.info_nce(D.pooled_features(D.backbone(G(z, cond))), cond)

    before = probe_loss()
    before.backward()
    with torch.no_grad():
        for p in G.parameters():
            p -= 0.05 * p.grad
    assert float(probe_loss()) < float(before) - 1e-3
    # ...and train_step adds it to G's loss (reported), so G ends elsewhere than without it.
    with_probe = GanTrainer(_config(), cond_dim=2, seed=0)
    without = GanTrainer(_config(0.0), cond_dim=2, seed=0)
    for t in (with_probe, without):
        losses = train_loop(t, images, conditions, until_step=2)
    assert "probe_loss" not in losses
    assert "probe_loss" in with_probe.train_step(images, conditions)
    assert any(not torch.equal(a, b) for a, b in zip(with_probe.generator.parameters(), without.generator.parameters()))
