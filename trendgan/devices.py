"""Device choice shared by the stages that run torch models."""

from __future__ import annotations

import contextlib

from trendgan.errors import TrendganError


def pick_device(name: str = "auto"):
    """``auto`` picks CUDA, then Apple MPS, then CPU; an explicit device that is absent is an error."""
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrendganError("--device cuda was asked for but no CUDA GPU is visible; use --device auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TrendganError("--device mps was asked for but Apple MPS is not available; use --device auto or cpu")
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise TrendganError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return torch.device(name)


def autocast(device, enabled: bool = True):
    """Mixed precision on GPU (bf16 where supported, else fp16); a no-op on CPU."""
    import torch

    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)
