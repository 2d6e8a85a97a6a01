"""The offline EfficientNet-Lite0 encoder on real product photos (../shared/data/fashion-product-9k)."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from trendgan.embed import OFFLINE_ENCODER, get_encoder, imagenet_labels

from .conftest import garment_image

TYPES = ("Watches", "Sunglasses", "Tshirts", "Heels")


def _products(shared_data, per_type=6):
    root = shared_data("fashion-product-9k")
    chosen: dict[str, list] = {t: [] for t in TYPES}
    with open(root / "styles.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            kind = row["articleType"]
            if kind in chosen and len(chosen[kind]) < per_type and (root / row["image"]).exists():
                chosen[kind].append(root / row["image"])
    return [(kind, path) for kind in TYPES for path in chosen[kind]]


@pytest.fixture(scope="module")
def encoder():
    return get_encoder(OFFLINE_ENCODER)


def test_effnet_vectors_are_unit_1280d_and_labels_are_imagenet(encoder):
    vectors = encoder.embed_images([garment_image(i) for i in range(3)])
    assert vectors.shape == (3, 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    labels = imagenet_labels()
    assert len(labels) == 1000 and labels[578] == "gown" and labels[836] == "sunglass"
    assert encoder.imagenet_labels == labels


@pytest.mark.needs_data
def test_same_article_type_lies_closer_than_different_types(shared_data, encoder):
    products = _products(shared_data)
    kinds = np.array([kind for kind, _ in products])
    vectors = encoder.embed_images([Image.open(path) for _, path in products])
    similarity = vectors @ vectors.T
    same = kinds[:, None] == kinds[None, :]
    off_diagonal = ~np.eye(len(kinds), dtype=bool)
    for kind in TYPES:
        rows = kinds == kind
        within = similarity[rows][:, rows][off_diagonal[rows][:, rows]].mean()
        between = similarity[rows][:, ~rows].mean()
        assert within > between + 0.05, (kind, within, between)
    # Nearest neighbour (leaving each image out) mostly shares its article type.
    np.fill_diagonal(similarity, -np.inf)
    nearest = kinds[similarity.argmax(axis=1)]
    assert (nearest == kinds).mean() >= 0.85
    assert same.sum() > len(kinds)


@pytest.mark.needs_data
def test_imagenet_head_names_apparel(shared_data, encoder):
    products = [path for kind, path in _products(shared_data) if kind == "Sunglasses"]
    probabilities = encoder.classify([Image.open(path) for path in products])
    assert probabilities.shape == (len(products), 1000)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    top = Counter(imagenet_labels()[i] for i in probabilities.argmax(axis=1))
    assert top.most_common(1)[0][0] in {"sunglass", "sunglasses"}, top


def test_streamlined_network_computes_the_same_features(encoder):
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from trendgan.embed.effnet import weights_path

    plain = EfficientNet.from_name("efficientnet-lite0")
    plain.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True))
    inputs = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = plain.eval().extract_features(inputs)
        got = encoder.model.extract_features(inputs.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
