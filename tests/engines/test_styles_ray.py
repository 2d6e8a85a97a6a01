"""`styles --engine ray`: every image placed, assigned and measured in Ray tasks; the same run as the local engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

def _load(relative: str, name: str):
    """A helper module of another test folder, loaded by path (every folder's conftest is called "conftest")."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_styles_helpers = _load("styles/conftest.py", "styles_stores")  # tests/styles' synthetic stores
add_images, look_directions = _styles_helpers.add_images, _styles_helpers.look_directions

pytest.importorskip("ray", reason="the [ray] extra is not installed")

TABLES = ("assignments", "styles", "series", "drift", "families", "family_series", "family_drift", "map")
# Small chunks so each pass is many Ray tasks; minibatch_above low so k-means' nearest-centroid pass over every
# image runs (as it does beyond 50,000 images); 1,200 images so the whitening is fitted and applied.
SETTINGS = dict(k=5, space="whiten", chunk_size=128, minibatch_above=500, fit_sample=600, map_method="pca",
                naming="colours")


def same_run(a, b) -> None:
    for name in TABLES:
        left, right = a.table(name), b.table(name)
        for frame in (left, right):
            for column in frame.columns:  # array cells: vectors compared within 1e-6, lists of ids exactly
                if len(frame) and isinstance(frame[column].iloc[0], np.ndarray):
                    frame[column] = [v.tolist() for v in frame[column]]
        for column in left.columns:
            if len(left) and isinstance(left[column].iloc[0], list) and isinstance(left[column].iloc[0][0], float):
                np.testing.assert_allclose(np.stack(left.pop(column)), np.stack(right.pop(column)), atol=1e-6,
                                           err_msg=f"{name}.{column}")
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-6, atol=1e-6, obj=name)


@pytest.fixture
def two_stores(tmp_path):
    """Two stores with the same 1,200 images of 5 looks over 12 weeks (a fifth from a leading source)."""
    from trendgan.store import Store

    rng = np.random.default_rng(0)
    looks = rng.integers(0, 5, size=1200)
    weeks = np.sort(rng.integers(0, 12, size=1200))
    stores = []
    for name in ("local", "ray"):
        store = Store(tmp_path / name)
        add_images(store, tmp_path, looks, weeks, look_directions(5),
                   leading=np.arange(1200) % 5 == 0)
        stores.append(store)
    return stores


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_styles_on_ray_are_the_local_styles(local_ray, two_stores, tmp_path):
    from trendgan.styles import find_styles, load_styles

    local_store, ray_store = two_stores
    local = find_styles(local_store, **SETTINGS)
    on_ray = find_styles(ray_store, engine="ray", **SETTINGS)
    a, b = load_styles(local_store, local.run), load_styles(ray_store, on_ray.run)
    assert a.metrics[0]["space"]["space"] == "pca-whitened" and b.metrics[0]["engine"] == "ray"
    assert (local.n_styles, on_ray.n_styles) == (5, 5)
    same_run(a, b)

    # Assigning later images to those styles (no clustering) is the same on both engines too.
    for store in two_stores:
        add_images(store, tmp_path, np.arange(300) % 5, np.full(300, 12),
                   look_directions(5), prefix="later", part=1, seed=5)
    local = find_styles(local_store, assign_only=True, **SETTINGS)
    on_ray = find_styles(ray_store, assign_only=True, engine="ray", **SETTINGS)
    a, b = load_styles(local_store, local.run), load_styles(ray_store, on_ray.run)
    assert len(a.assignments) == 1500
    same_run(a, b)


def test_nearest_style_in_ray_chunks_matches_one_pass(local_ray):
    from trendgan.styles import nearest_style
    from trendgan.styles.cluster import normalise

    rng = np.random.default_rng(1)
    vectors, centroids = normalise(rng.normal(size=(5000, 16))), normalise(rng.normal(size=(7, 16)))
    labels, distance = nearest_style(vectors, centroids, chunk_size=700, engine="ray")
    similarity = vectors @ centroids.T
    np.testing.assert_array_equal(labels, similarity.argmax(axis=1))
    np.testing.assert_allclose(distance, 1 - similarity.max(axis=1), atol=1e-6)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_umap_space_on_ray_is_the_local_space(local_ray, two_stores):
    """The default space: UMAP fitted on a sample here, every other image placed by its transform in Ray tasks."""
    from trendgan.styles import find_styles, load_styles

    settings = dict(SETTINGS, space="umap", umap_sample=600, umap_min_images=500, chunk_size=300)
    local_store, ray_store = two_stores
    a = load_styles(local_store, find_styles(local_store, **settings).run)
    b = load_styles(ray_store, find_styles(ray_store, engine="ray", **settings).run)
    assert "umap_components" in a.metrics[0]["space"]
    same_run(a, b)


def test_styles_cli_takes_the_engine(local_ray, two_stores):
    from typer.testing import CliRunner

    from trendgan.cli.app import app
    from trendgan.styles import load_styles

    store = two_stores[1]
    result = CliRunner().invoke(app, ["styles", "--store", str(store.root), "--k", "5", "--map", "pca",
                                      "--engine", "ray", "-q"])
    assert result.exit_code == 0, result.output
    assert load_styles(store).metrics[0]["engine"] == "ray"
