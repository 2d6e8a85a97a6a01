"""The projected discriminator and the fast generator: frozen features stay frozen, conditions matter, checkpoints
of the new configs render the same images again, and every named config is listed with its image size."""

import io

import numpy as np
import pytest
import torch

from trendgan.gan import create_gan, list_configs, load_config
from trendgan.gan.config import describe_configs, replace
from trendgan.gan.trainer import GanTrainer


def _two_colour_set(n=32, size=16):
    images = torch.zeros(n, 3, size, size, dtype=torch.uint8)
    images[: n // 2, 0] = 220
    images[n // 2 :, 2] = 220
    images[:, :, : size // 4] = 240  # a light band, so the two halves differ in layout as well as colour
    conditions = torch.zeros(n, 4)
    conditions[: n // 2, 0] = 1
    conditions[n // 2 :, 1] = 1
    return images, conditions


def test_config_list_names_every_config_with_its_image_size():
    rows = describe_configs()
    assert [r["name"] for r in rows] == list_configs()
    assert {"proj-tiny-16", "proj-32", "proj-64", "proj-128", "gan-32-lite"} <= {r["name"] for r in rows}
    for row in rows:
        assert row["image_size"] == load_config(row["name"]).image_size
        assert row["image_size"] in (16, 32, 64, 128)
        assert row["discriminator"] in ("conv", "projected") and row["generator"] in ("dcgan", "fastgan")


@pytest.mark.parametrize("name", ["proj-tiny-16", "proj-32"])
def test_new_configs_build_and_score_images_of_their_size(name):
    torch.manual_seed(0)
    G, D = create_gan(name, cond_dim=12)
    size = load_config(name).image_size
    images = G(torch.randn(3, G.z_dim), torch.randn(3, 12))
    assert images.shape == (3, 3, size, size) and images.min() >= -1 and images.max() <= 1
    scores = D(images, torch.randn(3, 12))
    assert isinstance(scores, list) and all(s.shape[0] == 3 for s in scores)
    assert len(scores) == len(D.loss_weights)


def test_the_frozen_feature_network_gets_no_gradient_updates():
    images, conditions = _two_colour_set()
    trainer = GanTrainer("proj-tiny-16", cond_dim=4, seed=0)
    D = trainer.discriminator
    frozen = {**{f"effnet.{k}": v for k, v in D.effnet.named_parameters()},
              **{f"mixing.{k}": v for k, v in D.mixing.named_parameters()}}
    assert frozen and not any(p.requires_grad for p in frozen.values())
    before = {k: v.detach().clone() for k, v in frozen.items()}
    heads_before = [p.detach().clone() for p in D.heads_.parameters()]
    g_before = [p.detach().clone() for p in trainer.generator.parameters()]
    optimised = {id(p) for group in trainer.opt_d.param_groups for p in group["params"]}
    assert not optimised & {id(p) for p in frozen.values()}
    for _ in range(3):
        trainer.train_step(images, conditions)
    assert all(torch.equal(before[k], frozen[k]) for k in frozen)
    assert all(p.grad is None for p in frozen.values())
    assert not D.effnet.training  # drop-connect never switches on, even while D trains
    # ...while the heads learn and the generator learns through the frozen network.
    assert any(not torch.equal(a, b) for a, b in zip(heads_before, D.heads_.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, trainer.generator.parameters()))


def test_projected_scores_depend_on_the_condition():
    torch.manual_seed(0)
    _, D = create_gan("proj-tiny-16", cond_dim=8)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    a, b = torch.eye(8)[:1].repeat(2, 1), torch.eye(8)[1:2].repeat(2, 1)
    features = D.features(images)
    assert not torch.allclose(D.score(features, a)[0], D.score(features, b)[0])


def test_a_saved_checkpoint_of_a_new_config_loads_and_renders_the_same_images(tmp_path):
    from trendgan.gan.sampling import Renderer

    images, conditions = _two_colour_set()
    trainer = GanTrainer("proj-tiny-16", cond_dim=4, seed=1)
    for _ in range(4):
        trainer.train_step(images, conditions)
    trainer.refresh_ema_statistics(conditions, batches=2)
    state = trainer.state_dict()
    state["encoder_key"] = "test"
    torch.save(state, tmp_path / "checkpoint.pt")
    live = Renderer(generator=trainer.ema, z_dim=trainer.config.z_dim, cond_dim=4, image_size=16,
                    encoder_key="test", device=trainer.device)
    loaded = Renderer.from_checkpoint(tmp_path / "checkpoint.pt")
    assert loaded.config["name"] == "proj-tiny-16" and loaded.image_size == 16
    first = loaded.render(conditions[[0, 20]].numpy(), seed=3, per_condition=2)
    assert np.array_equal(first, live.render(conditions[[0, 20]].numpy(), seed=3, per_condition=2))
    assert np.array_equal(first, loaded.render(conditions[[0, 20]].numpy(), seed=3, per_condition=2))


def test_a_projected_run_resumes_exactly_where_it_stopped():
    images, conditions = _two_colour_set()
    straight = GanTrainer("proj-tiny-16", cond_dim=4, seed=3)
    for _ in range(4):
        straight.train_step(images, conditions)
    first = GanTrainer("proj-tiny-16", cond_dim=4, seed=3)
    for _ in range(2):
        first.train_step(images, conditions)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(999)
    resumed = GanTrainer("proj-tiny-16", cond_dim=4, seed=3).load_state_dict(torch.load(buffer, weights_only=True))
    for _ in range(2):
        resumed.train_step(images, conditions)
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.discriminator.state_dict().values(), resumed.discriminator.state_dict().values()):
        assert torch.equal(a, b)


def test_fast_generator_gates_large_maps_from_small_ones():
    config = load_config("proj-32")
    G, _ = create_gan(replace(config, discriminator="conv", d_mults=[1, 2, 4]), cond_dim=6)
    assert set(G.excite) == {"16"}  # the 16 px map is gated by the 4 px one
    G64, _ = create_gan(replace(load_config("proj-64"), discriminator="conv", d_mults=[1, 2, 4, 8]), cond_dim=6)
    assert set(G64.excite) == {"16", "32", "64"}  # big blocks keep a 64 px feature map before the RGB conv
    G64.eval()
    out = G64(torch.randn(2, G64.z_dim), torch.randn(2, 6))
    assert out.shape == (2, 3, 64, 64)


def test_a_pixel_critic_is_optional_and_weighted():
    _, D = create_gan("proj-tiny-16", cond_dim=4)
    _, plain = create_gan(replace(load_config("proj-tiny-16"), pixel_weight=0.0), cond_dim=4)
    assert D.loss_weights == [1.0, load_config("proj-tiny-16").pixel_weight]
    assert plain.pixel is None and plain.loss_weights == [1.0]
    assert len(plain(torch.zeros(2, 3, 16, 16), torch.eye(4)[:2])) == 1


class _FixedLogits:
    def __init__(self, logits):
        self.logits = logits

    def contrast_logits(self, features, cond):
        return self.logits


def test_the_contrastive_condition_loss_rewards_telling_conditions_apart():
    from trendgan.gan.trainer import condition_contrast

    cond = torch.eye(4)
    right = condition_contrast(_FixedLogits(10 * torch.eye(4)), None, cond, 0.1)
    wrong = condition_contrast(_FixedLogits(10 * torch.eye(4).roll(1, dims=1)), None, cond, 0.1)
    assert right < 0.01 < 5 < wrong
    # Two images with one condition share their target: which of the two columns an image picks does not matter.
    twin = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    first = torch.tensor([[9.0, 0.0, 0.0], [9.0, 0.0, 0.0], [0.0, 0.0, 9.0]])
    second = torch.tensor([[0.0, 9.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 9.0]])
    assert torch.isclose(condition_contrast(_FixedLogits(first), None, twin, 0.1),
                         condition_contrast(_FixedLogits(second), None, twin, 0.1))


def test_a_contrastive_discriminator_trains_its_condition_head():
    images, conditions = _two_colour_set()
    config = replace(load_config("proj-tiny-16"), cond_contrast_weight=1.0)
    trainer = GanTrainer(config, cond_dim=4, seed=0)
    before = [p.detach().clone() for p in trainer.discriminator.contrast.parameters()]
    losses = trainer.train_step(images, conditions)
    assert np.isfinite(losses["loss_d"]) and np.isfinite(losses["loss_g"])
    after = list(trainer.discriminator.contrast.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    logits = trainer.discriminator.contrast_logits(trainer.discriminator.features(torch.zeros(3, 3, 16, 16)),
                                                   torch.eye(4)[:3])
    assert logits.shape == (3, 3)
    conv = GanTrainer(replace(load_config("gan-tiny-16"), cond_contrast_weight=1.0), cond_dim=4, seed=0)
    assert np.isfinite(conv.train_step(images, conditions)["loss_g"])
    from trendgan.errors import ConfigError

    with pytest.raises(ConfigError, match="cond_contrast_temperature"):
        replace(load_config("gan-tiny-16"), cond_contrast_temperature=0.0)


def test_mixed_conditions_are_soft_means_of_similar_images_conditions():
    _, conditions = _two_colour_set()
    conditions = conditions + 0.3 * torch.rand(conditions.shape, generator=torch.Generator().manual_seed(0))
    config = replace(load_config("proj-tiny-16"), cond_mix=1.0, cond_mix_pool=16)
    trainer = GanTrainer(config, cond_dim=4, seed=0)
    mixed = trainer._mix(conditions[:4], conditions)
    assert torch.allclose(mixed.norm(dim=1), torch.ones(4), atol=1e-5)
    assert not torch.allclose(mixed, conditions[:4] / conditions[:4].norm(dim=1, keepdim=True))
    # Each mean stays with its own kind: the first half's conditions point along axis 0, the second's along axis 1.
    assert (mixed[:, 0] > mixed[:, 1]).all()
    assert torch.equal(GanTrainer(replace(config, cond_mix=0.0), cond_dim=4)._mix(conditions[:4], conditions),
                       conditions[:4])
