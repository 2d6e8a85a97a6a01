"""Shared fixtures. Tests mirror trendgan/; markers: slow, gpu, needs_data, browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")

SHARED_DATA = Path(os.environ.get("TRENDGAN_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def _shared_data_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{'/'.join(parts)} (absent here)")
    return path


@pytest.fixture
def shared_data():
    """``shared_data("fashion-mnist")`` -> the path, or the test is skipped with the reason."""
    return _shared_data_path


@pytest.fixture
def store(tmp_path):
    from trendgan.store import Store

    return Store(tmp_path / "store")


@pytest.fixture
def one_torch_thread():
    """One torch intra-op thread for the test, restored afterwards. Tests of many tiny ops ask for it: on a shared
    2-core machine two threads per op spend most of their time waiting for each other (measured 10-30x slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch):
    # A user's TRENDGAN_STORE must never leak into tests.
    monkeypatch.delenv("TRENDGAN_STORE", raising=False)


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except Exception:  # pragma: no cover
        has_gpu = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)
