"""GAN architectures as named JSON configs (like open_clip's model_configs): list them, load one, build its networks."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from trendgan.config import from_dict, to_dict
from trendgan.errors import ConfigError, GanError

CONFIG_DIR = Path(__file__).with_name("configs")
GENERATORS = ("dcgan", "fastgan")
DISCRIMINATORS = ("conv", "projected")


@dataclass
class GanConfig:
    """One architecture plus its training recipe. Field names are the keys of ``configs/*.json``."""

    name: str = "custom"
    image_size: int = 32
    z_dim: int = 64
    cond_embed: int = 64            # width of the condition embedding that drives every generator block
    g_channels: int = 32            # generator base width; block i has g_channels * g_mults[i] channels
    g_mults: list[int] = field(default_factory=lambda: [4, 2, 1])
    d_channels: int = 32
    d_mults: list[int] = field(default_factory=lambda: [1, 2, 4])
    residual: bool = False          # residual blocks (better at 64 px and up) or plain DCGAN-style blocks (faster on CPU)
    generator: str = "dcgan"        # dcgan (the blocks above) or fastgan (upsample + conv + GLU, skip-layer excitation)
    discriminator: str = "conv"     # conv (trained from pixels) or projected (heads on frozen EfficientNet-Lite0 features)
    feature_size: int = 0           # projected: side the images are resized to for the feature network (0: image_size)
    feature_stages: int = 3         # projected: how many of EfficientNet-Lite0's 4 feature scales the heads judge
    proj_channels: int = 32         # projected: width of the random cross-channel mixing (x1, x2, x4, x8 per scale)
    pixel_weight: float = 0.0       # projected: > 0 adds the conv discriminator on pixels (d_mults), its loss weighted so
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.0, 0.99])
    batch: int = 64
    ema_decay: float = 0.999
    diffaug: str = "color,translation,cutout"
    mirror: bool = False            # also train on mirrored images; off because catalogues shoot shoes and bags facing one way
    ada_target: float = 0.0         # > 0: adapt how often diffaug applies so that E[sign D(real)] stays near this
    ada_kimg: float = 100.0         # thousands of images over which the augmentation probability can go from 0 to 1
    mismatch_weight: float = 0.5    # weight of "real image, wrong condition" negatives in the discriminator loss
    cond_noise: float = 0.0         # norm of Gaussian noise added to the unit-length training conditions (see trainer)
    diversity_weight: float = 0.0   # mode-seeking term: pairs of fakes sharing a condition are pushed apart in z's ratio
    cond_mix: float = 0.0           # share of training conditions replaced by a soft mean of similar images' (see trainer)
    cond_mix_pool: int = 256        # how many of the training set's conditions each batch's soft means draw from
    cond_mix_temperature: float = 0.1   # softmax temperature over cosine similarity for those means
    cond_contrast_weight: float = 0.0   # class-contrastive condition loss over the batch (see projected.py)
    cond_contrast_temperature: float = 0.1  # its temperature, for the logits and the soft targets alike
    cond_centroid: float = 0.0      # share of training conditions replaced by the image's style centroid (see trainer)
    z_every_block: bool = False     # fastgan: z also modulates every block's batch norm, not only the 4x4 input
    cond_standardise: bool = False  # fastgan: centre and scale each condition dimension by the training conditions'
                                    # mean and spread before the generator reads it (see FastGenerator; on in proj-32)
    probe_weight: float = 0.0       # projected: > 0 adds a frozen condition probe's InfoNCE on the fakes to G's loss
                                    # (trendgan.gan.probe; fitted on the real images before the first step)
    style_balance: float = 0.0      # 0: images drawn uniformly; 1: every style equally often (see trainer)
    d_steps: int = 1                # discriminator updates per generator update
    render_truncation: float = 1.0  # psi with which renders are drawn (1: untruncated; see Renderer.render)
    steps: int = 5000               # default length of a run when neither --steps nor --minutes is given
    checkpoint_every: int = 500
    sample_every: int = 500
    log_every: int = 50

    def __post_init__(self):
        blocks = len(self.g_mults)
        if self.image_size != 4 * 2**blocks:
            raise ConfigError(
                f"GAN config {self.name!r}: image_size {self.image_size} needs {_blocks_for(self.image_size)} "
                f"generator blocks (4 px doubled per block), g_mults has {blocks}"
            )
        if self.generator not in GENERATORS or self.discriminator not in DISCRIMINATORS:
            raise ConfigError(f"GAN config {self.name!r}: generator must be one of {', '.join(GENERATORS)} and "
                              f"discriminator one of {', '.join(DISCRIMINATORS)}")
        if (self.discriminator == "conv" or self.pixel_weight > 0) and len(self.d_mults) != blocks:
            raise ConfigError(f"GAN config {self.name!r}: d_mults needs {blocks} entries like g_mults")
        if self.discriminator == "projected" and not (1 <= self.feature_stages <= 4 and self.feature_size >= 0
                                                      and self.proj_channels >= 1):
            raise ConfigError(f"GAN config {self.name!r}: feature_stages must be 1..4, feature_size >= 0 and "
                              "proj_channels positive")
        if min(self.batch, self.d_steps, self.z_dim, self.cond_embed) < 1:
            raise ConfigError(f"GAN config {self.name!r}: batch, d_steps, z_dim and cond_embed must be positive")
        if self.cond_noise < 0 or self.diversity_weight < 0 or self.cond_contrast_weight < 0:
            raise ConfigError(f"GAN config {self.name!r}: cond_noise, diversity_weight and cond_contrast_weight must "
                              "be >= 0")
        if not 0.0 <= self.cond_mix <= 1.0 or self.cond_mix_pool < 2 or self.cond_mix_temperature <= 0:
            raise ConfigError(f"GAN config {self.name!r}: cond_mix must be in [0, 1], cond_mix_pool at least 2 and "
                              "cond_mix_temperature positive")
        if not 0.0 <= self.cond_centroid <= 1.0 or not 0.0 <= self.style_balance <= 1.0:
            raise ConfigError(f"GAN config {self.name!r}: cond_centroid and style_balance must be in [0, 1]")
        if self.cond_standardise and self.generator != "fastgan":
            raise ConfigError(f"GAN config {self.name!r}: cond_standardise needs the fastgan generator (it keeps the "
                              "condition statistics)")
        if self.probe_weight < 0 or (self.probe_weight > 0 and self.discriminator != "projected"):
            raise ConfigError(f"GAN config {self.name!r}: probe_weight must be >= 0, and > 0 only with the projected "
                              "discriminator (the probe reads its frozen features)")
        if self.cond_contrast_temperature <= 0:
            raise ConfigError(f"GAN config {self.name!r}: cond_contrast_temperature must be positive")
        if not 0.0 <= self.ada_target < 1.0 or self.ada_kimg <= 0:
            raise ConfigError(f"GAN config {self.name!r}: ada_target must be in [0, 1) and ada_kimg positive")
        if not 0.0 <= self.render_truncation <= 1.0:
            raise ConfigError(f"GAN config {self.name!r}: render_truncation must be in [0, 1]")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"GAN config {self.name!r}: ema_decay must be in [0, 1)")

    def to_dict(self) -> dict:
        return to_dict(self)


def _blocks_for(size: int) -> str:
    n = 0
    while 4 * 2**n < size:
        n += 1
    return str(n) if 4 * 2**n == size else "a power-of-two size; no number of"


def list_configs() -> list[str]:
    """Names of the built-in GAN configs, e.g. ``['gan-128', 'gan-32', 'gan-64', 'gan-tiny-16', 'proj-32', ...]``."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def describe_configs() -> list[dict]:
    """One row per built-in config: name, image_size, generator, discriminator, steps (what `trendgan gan-configs`
    prints)."""
    rows = []
    for name in list_configs():
        c = load_config(name)
        rows.append({"name": c.name, "image_size": c.image_size, "generator": c.generator,
                     "discriminator": c.discriminator, "batch": c.batch, "steps": c.steps})
    return rows


def load_config(name_or_path: str | Path | dict | GanConfig) -> GanConfig:
    """A built-in config by name, a JSON file by path, or a dict (e.g. from a checkpoint)."""
    if isinstance(name_or_path, GanConfig):
        return name_or_path
    if isinstance(name_or_path, dict):
        table = dict(name_or_path)
        return from_dict(GanConfig, table, "gan")
    name = str(name_or_path)
    path = CONFIG_DIR / f"{name}.json"
    if not path.exists():
        path = Path(name).expanduser()
    if not path.is_file():
        raise GanError(f"unknown GAN config {name!r}: use one of {', '.join(list_configs())} or a path to a JSON file")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GanError(f"GAN config {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(table, dict):
        raise GanError(f"GAN config {path} should hold one JSON object")
    table.setdefault("name", path.stem)
    return from_dict(GanConfig, table, "gan")


def create_gan(name_or_path: str | Path | dict | GanConfig, cond_dim: int):
    """Build ``(generator, discriminator)`` for a config and a condition width (the encoder's dimension)."""
    config = load_config(name_or_path)
    if cond_dim < 1:
        raise GanError(f"cond_dim must be positive (the encoder's vector width), got {cond_dim}")
    return create_generator(config, cond_dim), create_discriminator(config, cond_dim)


def create_generator(name_or_path, cond_dim: int):
    """The config's generator alone (what rendering needs; no feature network is loaded)."""
    from trendgan.gan.networks import Generator

    config = load_config(name_or_path)
    if config.generator == "fastgan":
        from trendgan.gan.fastgan import FastGenerator

        return FastGenerator(config, cond_dim)
    return Generator(config, cond_dim)


def create_discriminator(name_or_path, cond_dim: int):
    from trendgan.gan.networks import Discriminator

    config = load_config(name_or_path)
    if config.discriminator == "projected":
        from trendgan.gan.projected import ProjectedDiscriminator

        return ProjectedDiscriminator(config, cond_dim)
    return Discriminator(config, cond_dim)


def replace(config: GanConfig, **changes) -> GanConfig:
    """A copy of ``config`` with some fields changed (validated again)."""
    return dataclasses.replace(config, **changes)
