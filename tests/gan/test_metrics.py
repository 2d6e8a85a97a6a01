import numpy as np
import pytest

from trendgan.errors import GanError
from trendgan.gan.metrics import (METRICS, MetricInputs, compute_metrics, conditional_consistency, frechet_distance,
                                  precision_recall)


def test_frechet_distance_of_identical_sets_is_about_zero():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form_for_known_gaussians():
    rng = np.random.default_rng(0)
    d = 4
    a = rng.normal(size=(20000, d))
    b = rng.normal(size=(20000, d)) * 2.0 + 1.0
    # ||mu||^2 = d; Tr(I + 4I - 2 * 2I) = d; so FD = 2d.
    assert frechet_distance(a, b) == pytest.approx(2 * d, rel=0.05)
    assert frechet_distance(a, a + 3.0) == pytest.approx(9 * d, rel=1e-6)


def test_precision_and_recall_separate_fidelity_from_coverage():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 2))
    pr = precision_recall(real, real.copy())
    assert pr == {"precision": 1.0, "recall": 1.0}
    far = precision_recall(real, real + 100)
    assert far == {"precision": 0.0, "recall": 0.0}
    # Mode collapse: all fakes near one corner of the real data: faithful but covering little.
    corner = real[real[:, 0] > 1.0]
    collapsed = corner[rng.integers(len(corner), size=80)] + rng.normal(scale=0.01, size=(80, 2))
    pr = precision_recall(real, collapsed)
    assert pr["precision"] > 0.9 and pr["recall"] < 0.35


def test_conditional_consistency_counts_nearest_centroids():
    centroids = np.eye(3)
    fake = np.array([[1, 0.1, 0], [0, 1, 0.2], [0.9, 0, 0.1], [0, 0, 1]], dtype=float)
    assert conditional_consistency(fake, np.array([0, 1, 2, 2]), centroids) == pytest.approx(0.75)


def test_registry_runs_what_it_can_and_rejects_unknown_names():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    values = compute_metrics(MetricInputs(real=x, fake=x))
    assert set(METRICS) == {"frechet_distance", "precision_recall", "conditional_consistency"}
    assert values["frechet_distance"] == pytest.approx(0, abs=1e-6) and values["precision"] == 1.0
    assert "conditional_consistency" not in values  # no styles given
    with pytest.raises(GanError, match="unknown metric"):
        compute_metrics(MetricInputs(real=x, fake=x), ["inception_score"])
    with pytest.raises(GanError, match=r"\(N, D\)"):
        frechet_distance(x[:1], x)
