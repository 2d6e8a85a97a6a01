"""Moving between looks in the encoder's space. Conditions are unit vectors, so blends stay on the sphere."""

from __future__ import annotations

import numpy as np


def normalise(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    norm = np.linalg.norm(vector, axis=-1, keepdims=True)
    return vector / np.maximum(norm, 1e-12)


def blend_looks(start: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    """Spherical interpolation: strength 0 is ``start``, 1 is ``target``, and halfway looks halfway.

    A plain average of two unit vectors shrinks toward the origin, where a generator trained on unit conditions
    has never been; slerp keeps every step on the sphere.
    """
    a, b = normalise(start), normalise(target)
    cos = float(np.clip(np.dot(a, b), -1.0, 1.0))
    angle = np.arccos(cos)
    if angle < 1e-4:
        return normalise((1 - strength) * a + strength * b)
    return normalise((np.sin((1 - strength) * angle) * a + np.sin(strength * angle) * b) / np.sin(angle))


def cosine(rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row to one vector."""
    return normalise(np.atleast_2d(rows)) @ normalise(vector)
