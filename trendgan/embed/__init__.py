"""The embed stage: image vectors from CLIP (open_clip) or the offline EfficientNet-Lite0, batched and resumable.

    from trendgan.embed import embed, get_encoder, load_vectors
    result = embed("my-store", encoder="effnet-lite0")         # vectors into my-store/embeddings/effnet-lite0/
    image_ids, vectors = load_vectors("my-store")              # the latest run's encoder
    encoder = get_encoder("clip:ViT-B-32/laion2b_s34b_b79k")   # images and texts in one space
"""

from __future__ import annotations

from trendgan.embed.encoders import (
    DEFAULT_CLIP,
    OFFLINE_ENCODER,
    Encoder,
    get_encoder,
    register_encoder,
    resolve_encoder_key,
)
from trendgan.embed.images import ImageRecipe
from trendgan.embed.stage import EmbedResult, embed
from trendgan.embed.vectors import latest_encoder_key, load_vectors_with_key
from trendgan.embed.vectors import load_vectors as _load_vectors
from trendgan.store import Store, encoder_slug


def load_vectors(store, encoder: str | None = None):
    """(image_ids, vectors) for ``encoder``, default the latest embed run's encoder. ``store`` may be a path."""
    return _load_vectors(store if isinstance(store, Store) else Store(store), encoder)


def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet class names of the effnet-lite0 head, in class-index order."""
    from trendgan.embed.effnet import imagenet_labels as _labels

    return _labels()


__all__ = [
    "DEFAULT_CLIP",
    "OFFLINE_ENCODER",
    "EmbedResult",
    "Encoder",
    "ImageRecipe",
    "embed",
    "encoder_slug",
    "get_encoder",
    "imagenet_labels",
    "latest_encoder_key",
    "load_vectors",
    "load_vectors_with_key",
    "register_encoder",
    "resolve_encoder_key",
]
