"""On a CUDA GPU: mixed precision and pinned transfers give (nearly) the CPU's vectors."""

from __future__ import annotations

import numpy as np
import pytest

from trendgan.embed import OFFLINE_ENCODER, embed, get_encoder, load_vectors

from .conftest import TINY, garment_image


@pytest.mark.gpu
@pytest.mark.parametrize("key", [TINY, OFFLINE_ENCODER])
def test_gpu_vectors_match_cpu_vectors(key):
    looks = [garment_image(i) for i in range(8)]
    on_cpu = get_encoder(key, "cpu").embed_images(looks)
    on_gpu = get_encoder(key, "cuda").embed_images(looks)
    cosine = (on_cpu * on_gpu).sum(axis=1)
    assert cosine.min() > 0.99, cosine


@pytest.mark.gpu
def test_embed_stage_on_gpu(catalogued):
    store, _, ids = catalogued
    result = embed(store, encoder=TINY, device="cuda", workers=2)
    assert result.device.startswith("cuda") and result.embedded == 12
    assert sorted(load_vectors(store, TINY)[0]) == sorted(ids)
    np.testing.assert_allclose(np.linalg.norm(load_vectors(store, TINY)[1], axis=1), 1.0, atol=1e-3)
