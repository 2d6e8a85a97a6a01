import pytest
import torch

from trendgan.errors import ConfigError, GanError
from trendgan.gan import create_gan, list_configs, load_config
from trendgan.gan.augment import diff_augment


def test_builtin_configs_are_listed_and_build():
    assert {"gan-tiny-16", "gan-32", "gan-64", "gan-128"} <= set(list_configs())
    for name in ("gan-tiny-16", "gan-32"):
        G, D = create_gan(name, cond_dim=12)
        size = load_config(name).image_size
        z, cond = torch.randn(3, G.z_dim), torch.randn(3, 12)
        images = G(z, cond)
        assert images.shape == (3, 3, size, size)
        # a tanh keeps pixels in [-1, 1]; that alone would pass for a constant or saturated output, so also: the
        # picture varies, is mostly unsaturated, and depends on both the noise and the condition
        assert images.min() >= -1 and images.max() <= 1
        assert images.std() > 1e-3 and (images.abs() < 0.999).float().mean() > 0.9
        assert not torch.allclose(G(z[[0, 0]], cond[[0, 1]])[1], G(z[[0, 0]], cond[[0, 0]])[1], atol=1e-5)
        assert not torch.allclose(G(z[[0, 1]], cond[[0, 0]])[1], G(z[[0, 0]], cond[[0, 0]])[1], atol=1e-5)
        assert D(images, torch.randn(3, 12)).shape == (3,)


def test_unknown_or_inconsistent_config_is_a_clear_error(tmp_path):
    with pytest.raises(GanError, match="unknown GAN config"):
        load_config("gan-9000")
    bad = tmp_path / "bad.json"
    bad.write_text('{"image_size": 48, "g_mults": [2, 1], "d_mults": [1, 2]}')
    with pytest.raises(ConfigError, match="image_size 48"):
        load_config(bad)
    bad.write_text("{not json")
    with pytest.raises(GanError, match="not valid JSON"):
        load_config(bad)


def test_generator_and_discriminator_depend_on_the_condition():
    torch.manual_seed(0)
    G, D = create_gan("gan-tiny-16", cond_dim=8)
    # Conditional batch norm starts as the identity; give the condition path some weight to see it act.
    for module in G.modules():
        if hasattr(module, "to_scale_shift"):
            torch.nn.init.normal_(module.to_scale_shift.weight, std=0.5)
    G.eval()
    z = torch.randn(2, G.z_dim)
    a, b = torch.eye(8)[:1].repeat(2, 1), torch.eye(8)[1:2].repeat(2, 1)
    assert not torch.allclose(G(z, a), G(z, b))
    # Conditions are L2-normalised inside: a centroid (shorter than unit length) acts like its direction.
    assert torch.allclose(G(z, a * 0.3), G(z, a), atol=1e-5)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    assert not torch.allclose(D(images, a), D(images, b))


def test_diff_augment_keeps_shape_and_gradients():
    torch.manual_seed(0)
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_()
    out = diff_augment(x, "color,translation,cutout")
    assert out.shape == x.shape
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.equal(diff_augment(x, ""), x)
    with pytest.raises(GanError, match="DiffAugment"):
        diff_augment(x, "rotate")


def test_diff_augment_probability_picks_which_images_change():
    torch.manual_seed(0)
    x = torch.rand(400, 3, 8, 8) * 2 - 1
    assert torch.equal(diff_augment(x, "color", p=0.0), x)
    changed = (diff_augment(x, "color", p=0.25) != x).flatten(1).any(dim=1).float().mean()
    assert 0.15 < changed < 0.35
    assert (diff_augment(x, "color", p=1.0) != x).flatten(1).any(dim=1).all()


def test_z_every_block_lets_noise_shape_every_layer_not_only_the_first():
    import io
    from dataclasses import replace

    from trendgan.gan.config import create_generator, load_config

    config = load_config("proj-tiny-16")
    z = torch.randn(2, config.z_dim)
    cond = torch.randn(1, 8).repeat(2, 1)
    outputs = {}
    for every in (False, True):
        torch.manual_seed(0)
        G = create_generator(replace(config, z_every_block=every), cond_dim=8)
        with torch.no_grad():
            for module in G.modules():  # as after training: the norms read their input (zero at initialisation)
                if hasattr(module, "to_scale_shift"):
                    torch.nn.init.normal_(module.to_scale_shift.weight, std=0.5)
            G.stem.weight[:, : config.z_dim] = 0  # z cut from the 4x4 input
        G.eval()
        with torch.no_grad():
            images = G(z, cond)
        outputs[every] = (images[0] - images[1]).abs().max().item()
        if every:  # a checkpoint of the option loads (weights only) and renders the same images
            buffer = io.BytesIO()
            torch.save(G.state_dict(), buffer)
            buffer.seek(0)
            again = create_generator(replace(config, z_every_block=True), cond_dim=8).eval()
            again.load_state_dict(torch.load(buffer, weights_only=True))
            with torch.no_grad():
                assert torch.equal(again(z, cond), images)
    assert outputs[False] < 1e-6   # z reached only the input, which no longer reads it
    assert outputs[True] > 1e-3    # z still shapes the image through every block's modulation
