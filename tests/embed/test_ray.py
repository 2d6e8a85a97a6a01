"""`--engine ray` on a local Ray instance: same vectors, same Parquet layout, same rejects as the local engine."""

from __future__ import annotations

import numpy as np
import pytest

from trendgan.embed import embed, load_vectors
from trendgan.embed.vectors import part_files

from .conftest import TINY, add_to_catalog, write_images

pytest.importorskip("ray.data", reason="the [ray] extra is not installed")


# Not marked slow: CI installs the [ray] extra so the Ray engine is checked on every run (about 20-40 s).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray Data's own settings, not ours
def test_ray_engine_writes_the_same_vectors_and_rejects(tmp_path):
    from trendgan.store import Store

    paths = write_images(tmp_path / "images", 10)
    broken = tmp_path / "images" / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    local_store, ray_store = Store(tmp_path / "local"), Store(tmp_path / "ray")
    for store in (local_store, ray_store):
        add_to_catalog(store, [*paths, broken])

    local = embed(local_store, encoder=TINY, device="cpu", workers=0, batch_size=4)
    on_ray = embed(ray_store, encoder=TINY, device="cpu", batch_size=4, engine="ray")

    assert (on_ray.embedded, on_ray.rejected, on_ray.engine) == (10, 1, "ray")
    assert (local.embedded, local.rejected) == (10, 1)
    ray_ids, ray_vectors = load_vectors(ray_store, TINY)
    local_ids, local_vectors = load_vectors(local_store, TINY)
    assert sorted(ray_ids) == sorted(local_ids)
    order = {image_id: i for i, image_id in enumerate(ray_ids)}
    np.testing.assert_allclose(ray_vectors[[order[i] for i in local_ids]], local_vectors, atol=1e-5)
    assert part_files(ray_store.embeddings_dir(TINY))
    with ray_store.catalog(read_only=True) as db:
        assert db.execute("SELECT reason FROM rejects WHERE stage = 'embed'").fetchall() == [("corrupt",)]
    # A second Ray run finds nothing left to embed.
    assert embed(ray_store, encoder=TINY, device="cpu", engine="ray").embedded == 0
