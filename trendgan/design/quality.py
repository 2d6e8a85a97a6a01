"""How much of the garment a render keeps: a compact SSIM (Wang et al. 2004) on numpy and scipy."""

from __future__ import annotations

import numpy as np


def structural_similarity(a, b, sigma: float = 1.5) -> float:
    """Mean SSIM of two RGB images (PIL or uint8 arrays of the same size) on their luminance, in [-1, 1].

    Gaussian window with sigma 1.5 and the usual constants K1=0.01, K2=0.03 for 8-bit data, as in the paper and
    scikit-image's ``gaussian_weights=True`` mode.
    """
    from scipy.ndimage import gaussian_filter

    x, y = _luminance(a), _luminance(b)
    if x.shape != y.shape:
        raise ValueError(f"images differ in size: {x.shape} vs {y.shape}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(img):
        return gaussian_filter(img, sigma, truncate=3.5)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


def _luminance(image) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 3:  # ITU-R BT.601, as in Pillow's "L" conversion
        arr = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
    return arr
