"""Render-time truncation: psi 0 draws the condition's one mean render, psi 1 the untruncated one, in between the
renders' spread shrinks toward it; the config's render_truncation travels with a checkpoint and old checkpoints
(written before the field) still load and render untruncated."""

import numpy as np
import pytest
import torch

from trendgan.errors import ConfigError, GanError
from trendgan.gan.config import load_config, replace
from trendgan.gan.trainer import GanTrainer


def _conditions(n=32):
    conditions = torch.zeros(n, 4)
    conditions[: n // 2, 0] = 1
    conditions[n // 2 :, 1] = 1
    return conditions


def _renderer(config="proj-tiny-16", **changes):
    from trendgan.gan.sampling import Renderer

    config = replace(load_config(config), **changes) if changes else load_config(config)
    trainer = GanTrainer(config, cond_dim=4, seed=1)
    with torch.no_grad():  # a generator whose output depends on z: an untrained stem's weights are small but not zero
        for p in trainer.ema.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return Renderer(generator=trainer.ema, z_dim=config.z_dim, cond_dim=4, image_size=config.image_size,
                    encoder_key="test", device=trainer.device, config=config.to_dict())


@pytest.mark.parametrize("config", ["proj-tiny-16", "gan-tiny-16"])  # the fast generator and the DCGAN one
def test_truncation_zero_is_the_conditions_mean_render_and_one_the_untruncated(config):
    renderer = _renderer(config)
    cond = _conditions()[[0, 20]].numpy()
    at_zero = renderer.render(cond, seed=3, per_condition=4, truncation=0.0)
    assert np.array_equal(at_zero[0], at_zero[3]) and np.array_equal(at_zero[4], at_zero[7])  # z no longer matters
    assert not np.array_equal(at_zero[0], at_zero[4])  # the condition still does
    with torch.no_grad():  # the mean latent: z's mean, 0
        mean = renderer.generator(torch.zeros(2, renderer.z_dim), torch.from_numpy(cond))
    from trendgan.gan.sampling import to_uint8

    assert np.array_equal(at_zero[[0, 4]], to_uint8(mean))
    untruncated = renderer.render(cond, seed=3, per_condition=4, truncation=1.0)
    z = renderer.noise(8, seed=3)
    with torch.no_grad():
        plain = to_uint8(renderer.generator(z, torch.from_numpy(np.repeat(cond, 4, axis=0))))
    assert np.array_equal(untruncated, plain)
    assert not np.array_equal(untruncated[0], untruncated[3])


def test_truncation_shrinks_the_spread_of_a_conditions_renders():
    renderer = _renderer()
    cond = _conditions()[0].numpy()
    spread = [renderer.render(cond, seed=5, per_condition=16, truncation=psi).astype(float).std(axis=0).mean()
              for psi in (1.0, 0.5, 0.0)]
    assert spread[0] > spread[1] > spread[2] == 0.0


def test_the_configs_render_truncation_is_the_renderers_default_and_is_checked():
    renderer = _renderer(render_truncation=0.5)
    cond = _conditions()[[0, 20]].numpy()
    assert np.array_equal(renderer.render(cond, seed=2, per_condition=3),
                          renderer.render(cond, seed=2, per_condition=3, truncation=0.5))
    assert not np.array_equal(renderer.render(cond, seed=2, per_condition=3),
                              renderer.render(cond, seed=2, per_condition=3, truncation=1.0))
    with pytest.raises(GanError, match="truncation"):
        renderer.render(cond, truncation=1.5)
    with pytest.raises(ConfigError, match="render_truncation"):
        replace(load_config("proj-tiny-16"), render_truncation=-0.1)


def test_render_truncation_round_trips_through_a_checkpoint_and_old_checkpoints_render_untruncated(tmp_path):
    from trendgan.gan.sampling import Renderer

    conditions = _conditions()
    images = torch.zeros(32, 3, 16, 16, dtype=torch.uint8)
    images[:16, 0] = 220
    images[16:, 2] = 220
    trainer = GanTrainer(replace(load_config("proj-tiny-16"), render_truncation=0.6), cond_dim=4, seed=1)
    for _ in range(3):
        trainer.train_step(images, conditions)
    state = trainer.state_dict()
    state["encoder_key"] = "test"
    torch.save(state, tmp_path / "checkpoint.pt")
    loaded = Renderer.from_checkpoint(tmp_path / "checkpoint.pt")
    assert loaded.config["render_truncation"] == 0.6
    cond = conditions[[0, 20]].numpy()
    assert np.array_equal(loaded.render(cond, seed=1, per_condition=2),
                          loaded.render(cond, seed=1, per_condition=2, truncation=0.6))
    # A checkpoint written before the field existed: its config has no render_truncation.
    del state["config"]["render_truncation"]
    torch.save(state, tmp_path / "old.pt")
    old = Renderer.from_checkpoint(tmp_path / "old.pt")
    assert old.config["render_truncation"] == 1.0
    assert np.array_equal(old.render(cond, seed=1, per_condition=2),
                          loaded.render(cond, seed=1, per_condition=2, truncation=1.0))
