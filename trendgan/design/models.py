"""Getting the generator and the encoder the design commands work with; tests and callers may pass their own."""

from __future__ import annotations

from trendgan.store import Store


def load_renderer(store: Store, gan_run: str | None = None, device: str = "auto"):
    """The trained conditional generator of a ``gan`` run (latest by default)."""
    from trendgan.gan import load_generator

    return load_generator(store, run=gan_run, device=str(resolve_device(device)))


def load_encoder(key: str, device: str = "auto"):
    from trendgan.embed import get_encoder

    return get_encoder(key, device=str(resolve_device(device)))


def resolve_device(device) -> object:
    from trendgan.devices import pick_device

    return pick_device(str(device)) if not hasattr(device, "type") else device


def renderer_device(renderer):
    import torch

    device = getattr(renderer, "device", None)
    if device is None:
        device = next(renderer.generator.parameters()).device
    return torch.device(device)
