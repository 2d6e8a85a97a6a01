"""The conditional GAN: named configs, networks, training, rendering and evaluation metrics.

Conditions are vectors in the encoder's space (an image's embedding, a style centroid, a mix of liked images, a
text embedding); the GAN never needs style ids::

    from trendgan.gan import list_configs, train_gan, load_generator
    result = train_gan(store, config="proj-32", minutes=3)   # `describe_configs()` lists the configs and sizes
    renderer = load_generator(store)                      # the EMA generator of the latest run
    images = renderer.render(centroids, seed=0, per_condition=4)   # uint8 (N*4, H, W, 3)
"""

from __future__ import annotations

import importlib

# name -> module; resolved on first use so `import trendgan.gan` does not import torch.
_LAZY = {
    "GanConfig": "trendgan.gan.config",
    "list_configs": "trendgan.gan.config",
    "describe_configs": "trendgan.gan.config",
    "Judge": "trendgan.gan.judge",
    "load_config": "trendgan.gan.config",
    "create_gan": "trendgan.gan.config",
    "GanTrainer": "trendgan.gan.trainer",
    "train_loop": "trendgan.gan.trainer",
    "train_gan": "trendgan.gan.train",
    "TrainResult": "trendgan.gan.train",
    "Renderer": "trendgan.gan.sampling",
    "load_generator": "trendgan.gan.sampling",
    "render": "trendgan.gan.renders",
    "RenderResult": "trendgan.gan.renders",
    "extrapolate_centroid": "trendgan.gan.renders",
    "evaluate_gan": "trendgan.gan.metrics",
    "EvaluationResult": "trendgan.gan.metrics",
    "METRICS": "trendgan.gan.metrics",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trendgan.gan' has no attribute {name!r}")
