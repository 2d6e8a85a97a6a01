"""The encoder registry: one small interface in front of every image model trendgan can embed with.

An encoder is chosen by a key that is stored with its vectors, so later stages always know which space the
vectors live in:

- ``clip:<arch>/<pretrained>``: an open_clip model and pretrained tag, e.g. ``clip:ViT-B-32/laion2b_s34b_b79k``;
  the tag ``none`` means random weights (tests and speed benchmarks only).
- ``clip:<arch>@<checkpoint path>``: an open_clip model with local weights (a fine-tune or an offline copy).
- ``effnet-lite0``: ImageNet EfficientNet-Lite0, weights shipped in a pip package; fully offline.
- ``auto``: CLIP when its weights are cached or reachable quickly, else effnet-lite0.

Other encoders can be added with :func:`register_encoder` (like BERTopic's backends): any object with the
attributes of :class:`Encoder` works.
"""

from __future__ import annotations

from collections.abc import Callable

from trendgan.embed.base import DEFAULT_CLIP, OFFLINE_ENCODER, Encoder
from trendgan.errors import EncoderError

__all__ = ["DEFAULT_CLIP", "OFFLINE_ENCODER", "Encoder", "get_encoder", "register_encoder", "resolve_encoder_key"]

# --------------------------------------------------------------------------- registry

_FACTORIES: dict[str, Callable[[str, object], Encoder]] = {}


def register_encoder(prefix: str, factory: Callable[[str, object], Encoder]) -> None:
    """Make keys equal to ``prefix`` or starting with ``prefix:`` build encoders with ``factory(key, device)``."""
    _FACTORIES[prefix] = factory


def _factory_for(key: str):
    head = key.split(":", 1)[0]
    if head in _FACTORIES:
        return _FACTORIES[head]
    known = ", ".join(["auto", DEFAULT_CLIP, "clip:<arch>@<checkpoint>", *sorted(k for k in _FACTORIES if k != "clip")])
    raise EncoderError(f"unknown encoder {key!r}; use one of: {known}")


def get_encoder(key: str = "auto", device="cpu") -> Encoder:
    """Build the encoder named by ``key`` on ``device`` ("auto", "cpu", "cuda", "mps" or a torch.device)."""
    from trendgan.devices import pick_device

    key = resolve_encoder_key(key)[0]
    torch_device = device if not isinstance(device, str) else pick_device(device)
    return _factory_for(key)(key, torch_device)


def resolve_encoder_key(key: str) -> tuple[str, str]:
    """(concrete key, why it was chosen). ``auto`` becomes the default CLIP or the offline encoder."""
    key = (key or "auto").strip()
    if key != "auto":
        _factory_for(key)  # an unknown key fails here, before any model loads
        if key.startswith("clip:"):
            from trendgan.embed.clip import normalise_clip_key

            key = normalise_clip_key(key)
        return key, "asked for"
    from trendgan.embed.clip import clip_weights_status

    status = clip_weights_status(DEFAULT_CLIP)
    if status in ("cached", "reachable"):
        return DEFAULT_CLIP, f"auto: CLIP weights are {status}"
    return OFFLINE_ENCODER, f"auto: CLIP weights for {DEFAULT_CLIP} are not cached and the hub is {status}; using the offline encoder"


def _build_clip(key, device):
    from trendgan.embed.clip import ClipEncoder

    return ClipEncoder(key, device)


def _build_effnet(key, device):
    from trendgan.embed.effnet import EffnetLite0Encoder

    if key != OFFLINE_ENCODER:
        raise EncoderError(f"unknown encoder {key!r}; did you mean {OFFLINE_ENCODER!r}?")
    return EffnetLite0Encoder(device)


register_encoder("clip", _build_clip)
register_encoder(OFFLINE_ENCODER, _build_effnet)
