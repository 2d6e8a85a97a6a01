"""CLIP through open_clip: hub tags, Hugging Face hub models, local checkpoints and folders, random weights, and a
clear answer when offline.

Keys: ``clip:ARCH/TAG`` (open_clip's built-in pretrained tags), ``clip:ARCH@CHECKPOINT`` (local weights for a
built-in architecture), ``clip:hf-hub:ORG/NAME`` (a model published on the Hugging Face hub in open_clip's layout,
e.g. the fashion encoders ``Marqo/marqo-fashionSigLIP`` and ``Marqo/marqo-fashionCLIP``) and
``clip:local-dir:FOLDER`` (the same layout on disk: ``open_clip_config.json`` beside the weights, e.g. a folder made
by ``huggingface-cli download ORG/NAME --local-dir FOLDER`` on a machine with internet).
"""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from trendgan.embed.base import OFFLINE_ENCODER, Encoder
from trendgan.embed.images import ImageRecipe
from trendgan.errors import EncoderError, WeightsUnavailableError

RANDOM_WEIGHTS = "none"   # ``clip:<arch>/none``: random initialisation, for tests and speed benchmarks
HUB = "hf-hub:"           # ``clip:hf-hub:ORG/NAME``: config and weights from a Hugging Face hub repository
FOLDER = "local-dir:"     # ``clip:local-dir:PATH``: the same layout in a local folder
HUB_CONFIG = "open_clip_config.json"
HUB_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")  # what open_clip publishes, preferred first
HUB_TIMEOUT_S = 3.0
_TINY_CONFIGS = Path(__file__).with_name("model_configs")
_registered = False


def _open_clip():
    """open_clip with trendgan's own model configs (trendgan-tiny) registered once."""
    global _registered
    import open_clip

    if not _registered:
        open_clip.add_model_config(_TINY_CONFIGS)
        _registered = True
    return open_clip


def parse_clip_key(key: str) -> tuple[str, str | None, str | None]:
    """``clip:ARCH/TAG`` -> (arch, tag, None); ``clip:ARCH@PATH`` -> (arch, None, path); a hub repository or local
    folder -> (``hf-hub:ORG/NAME`` or ``local-dir:PATH``, None, None): open_clip's own model name for it."""
    body = key.removeprefix("clip:")
    if body.startswith(HUB):
        repo = body[len(HUB):]
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise EncoderError(f"encoder key {key!r} should look like clip:hf-hub:<org>/<name> "
                               "(e.g. clip:hf-hub:Marqo/marqo-fashionSigLIP)")
        return body, None, None
    if body.startswith(FOLDER):
        if not body[len(FOLDER):]:
            raise EncoderError(f"encoder key {key!r} should look like clip:local-dir:<folder with {HUB_CONFIG}>")
        return body, None, None
    if "@" in body:
        arch, path = body.split("@", 1)
        if not arch or not path:
            raise EncoderError(f"encoder key {key!r} should look like clip:<arch>@<checkpoint path>")
        return arch, None, path
    arch, _, tag = body.partition("/")
    if not arch or not tag:
        raise EncoderError(f"encoder key {key!r} should look like clip:<arch>/<pretrained> "
                           f"(e.g. clip:ViT-B-32/laion2b_s34b_b79k), clip:<arch>@<checkpoint path>, "
                           f"clip:hf-hub:<org>/<name> or clip:local-dir:<folder>")
    return arch, tag, None


def normalise_clip_key(key: str) -> str:
    """Check the architecture and make local paths absolute, so the key means the same from any folder."""
    arch, tag, path = parse_clip_key(key)
    if arch.startswith(HUB):
        return f"clip:{arch}"
    if arch.startswith(FOLDER):
        folder = Path(arch[len(FOLDER):]).expanduser().resolve()
        _check_model_folder(folder, key)
        return f"clip:{FOLDER}{folder}"
    open_clip = _open_clip()
    if arch not in open_clip.list_models():
        raise EncoderError(f"open_clip has no architecture {arch!r} (key {key!r}); "
                           f"see open_clip.list_models(), e.g. ViT-B-32, ViT-L-14, trendgan-tiny")
    if path is not None:
        checkpoint = Path(path).expanduser().resolve()
        if not checkpoint.is_file():
            raise EncoderError(f"checkpoint {checkpoint} for encoder {key!r} does not exist; check the path after '@'")
        return f"clip:{arch}@{checkpoint}"
    if tag != RANDOM_WEIGHTS and open_clip.get_pretrained_cfg(arch, tag) == {}:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none published"
        raise EncoderError(f"open_clip has no pretrained tag {tag!r} for {arch} (key {key!r}); known tags: {tags}; "
                           f"or use clip:{arch}@<checkpoint path>")
    return f"clip:{arch}/{tag}"


def _check_model_folder(folder: Path, key: str) -> None:
    if not folder.is_dir():
        raise EncoderError(f"the folder {folder} for encoder {key!r} does not exist; check the path after 'local-dir:'")
    if not (folder / HUB_CONFIG).is_file():
        raise EncoderError(f"the folder {folder} for encoder {key!r} has no {HUB_CONFIG}: it should hold a model in "
                           f"open_clip's hub layout ({HUB_CONFIG} beside {' or '.join(HUB_WEIGHTS)})")
    if not any((folder / name).is_file() for name in HUB_WEIGHTS):
        raise EncoderError(f"the folder {folder} for encoder {key!r} has {HUB_CONFIG} but no weights "
                           f"({' or '.join(HUB_WEIGHTS)})")


# --------------------------------------------------------------------------- are the weights here?


def cached_checkpoint(arch: str, tag: str) -> str | None:
    """The local file of a hub tag's weights when a previous download left it in the cache, else None."""
    open_clip = _open_clip()
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if cfg.get("file"):
        return cfg["file"] if os.path.isfile(cfg["file"]) else None
    if cfg.get("hf_hub"):
        from huggingface_hub import try_to_load_from_cache
        from open_clip.pretrained import _get_safe_alternatives

        # open_clip's own naming: "org/repo/" means the default file name; safetensors copies are preferred.
        repo_id, filename = os.path.split(cfg["hf_hub"])
        filename = filename or "open_clip_pytorch_model.bin"
        for candidate in (*_get_safe_alternatives(filename), filename):
            found = try_to_load_from_cache(repo_id, candidate)
            if isinstance(found, str) and os.path.isfile(found):
                return found
    if cfg.get("url"):
        local = Path("~/.cache/clip").expanduser() / os.path.basename(urlparse(cfg["url"]).path)
        if local.is_file():
            return str(local)
    return None


def cached_hub_folder(repo: str) -> Path | None:
    """The snapshot folder of a hub repository in the local Hugging Face cache, when both its config and its
    weights were downloaded before; else None."""
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(repo, HUB_CONFIG)
    if not (isinstance(config, str) and os.path.isfile(config)):
        return None
    folder = Path(config).parent
    return folder if any((folder / name).is_file() for name in HUB_WEIGHTS) else None


def clip_weights_status(key: str) -> str:
    """One of: cached, reachable, offline (HF_HUB_OFFLINE / TRENDGAN_OFFLINE set), unreachable, local, random."""
    arch, tag, path = parse_clip_key(key)
    if path is not None or arch.startswith(FOLDER):
        return "local"
    if tag == RANDOM_WEIGHTS:
        return "random"
    if cached_hub_folder(arch[len(HUB):]) if arch.startswith(HUB) else cached_checkpoint(arch, tag):
        return "cached"
    if _offline_by_setting():
        return "offline"
    return "reachable" if _hub_reachable(_hub_host(arch, tag)) else "unreachable"


def _offline_by_setting() -> bool:
    truthy = {"1", "true", "yes", "on"}
    return any(os.environ.get(name, "").strip().lower() in truthy for name in ("HF_HUB_OFFLINE", "TRENDGAN_OFFLINE"))


def _hub_host(arch: str, tag: str | None) -> str:
    cfg = {"hf_hub": arch} if arch.startswith(HUB) else _open_clip().get_pretrained_cfg(arch, tag)
    if cfg.get("hf_hub"):
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        return urlparse(endpoint).hostname or "huggingface.co"
    return urlparse(cfg.get("url", "")).hostname or "huggingface.co"


def _hub_reachable(host: str, timeout: float = HUB_TIMEOUT_S) -> bool:
    """One TCP connect to the hub; DNS lookups cannot be given a timeout, so the check runs in a thread we stop
    waiting for."""
    import socket

    result = {"ok": False}

    def connect():
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                result["ok"] = True
        except OSError:
            pass

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout)
    return result["ok"]


def weights_unavailable(key: str, why: str) -> WeightsUnavailableError:
    arch = parse_clip_key(key)[0]
    if arch.startswith(HUB):
        local = (f"--encoder 'clip:{FOLDER}/path/to/folder' (a copy of the repository: "
                 f"`huggingface-cli download {arch[len(HUB):]} --local-dir /path/to/folder` where there is internet)")
    else:
        local = f"--encoder 'clip:{arch}@/path/to/checkpoint'"
    return WeightsUnavailableError(
        f"the weights for encoder {key!r} are not available ({why}); either point at a local copy with "
        f"{local} or use the offline encoder with --encoder {OFFLINE_ENCODER}"
    )


# --------------------------------------------------------------------------- the encoder


def _random_model(open_clip, arch: str, seed: int = 0):
    """Random weights from a fixed seed: every process (a resumed run, a Ray actor) builds the same model."""
    import logging

    import torch

    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # open_clip warns that no weights were loaded: here that is the point
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return open_clip.create_model(arch, pretrained=None)
    finally:
        quiet.setLevel(level)


class ClipEncoder(Encoder):
    """An open_clip model; images and texts land in the same space, so text prompts can steer later stages."""

    has_text = True

    def __init__(self, key: str, device):
        import torch

        self.key = normalise_clip_key(key)
        self.arch, self.tag, self.checkpoint = parse_clip_key(self.key)
        self.device = torch.device(device)
        self.model = self._create_model()
        self.model.eval().to(self.device)
        self._tokenizer = None
        self.dim = int(self.model.text_projection.shape[-1] if getattr(self.model, "text_projection", None) is not None
                       else self._probe_dim())
        self.recipe = self._recipe()

    def _create_model(self):
        open_clip = _open_clip()
        if self.arch.startswith(FOLDER):
            return self._load_folder(open_clip, Path(self.arch[len(FOLDER):]))
        if self.arch.startswith(HUB):
            return self._load_hub(open_clip, self.arch[len(HUB):])
        if self.checkpoint is not None:
            return self._load(open_clip, self.checkpoint)
        if self.tag == RANDOM_WEIGHTS:
            return _random_model(open_clip, self.arch)
        cached = cached_checkpoint(self.arch, self.tag)
        if cached:
            # Load the cached file directly: no hub call at all, so a cached model works offline.
            return self._load(open_clip, cached, quick_gelu=bool(open_clip.get_pretrained_cfg(self.arch, self.tag).get("quick_gelu")))
        status = clip_weights_status(self.key)
        if status != "reachable":
            raise weights_unavailable(self.key, f"not in the local cache and the hub is {status}")
        try:
            return open_clip.create_model(self.arch, pretrained=self.tag, weights_only=True)
        except Exception as exc:  # network errors come in many types (requests, hub, OSError): one message for all
            raise weights_unavailable(self.key, f"download failed: {str(exc).strip().splitlines()[0][:160]}") from None

    def _load_hub(self, open_clip, repo: str):
        cached = cached_hub_folder(repo)
        if cached is not None:
            # The cached snapshot is a local folder in the hub layout: no hub call at all, so it works offline.
            return self._load_folder(open_clip, cached)
        status = clip_weights_status(self.key)
        if status != "reachable":
            raise weights_unavailable(self.key, f"not in the local cache and the hub is {status}")
        try:
            return open_clip.create_model(self.arch, weights_only=True)
        except Exception as exc:  # network and hub errors come in many types: one message for all
            raise weights_unavailable(self.key, f"download failed: {str(exc).strip().splitlines()[0][:160]}") from None

    def _load_folder(self, open_clip, folder: Path):
        """A model folder in the hub layout, weights through torch.load(weights_only=True) or safetensors."""
        _check_model_folder(folder, self.key)
        try:
            return open_clip.create_model(f"{FOLDER}{folder}", weights_only=True)
        except (RuntimeError, KeyError, OSError, ValueError, pickle.UnpicklingError) as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise EncoderError(f"cannot load the open_clip model in {folder} for encoder {self.key!r} ({first})") from None

    def _load(self, open_clip, checkpoint: str, quick_gelu: bool = False):
        """Local weights, always through torch.load(weights_only=True): a checkpoint cannot run code."""
        try:
            return open_clip.create_model(self.arch, pretrained=checkpoint, weights_only=True, force_quick_gelu=quick_gelu)
        except (RuntimeError, KeyError, OSError, ValueError, pickle.UnpicklingError) as exc:  # wrong arch, corrupt, code
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise EncoderError(f"cannot load checkpoint {checkpoint} as {self.arch} for encoder {self.key!r} ({first}); "
                               "check that it is an open_clip state_dict of that architecture") from None

    def _recipe(self) -> ImageRecipe:
        from open_clip.model import get_model_preprocess_cfg

        cfg = dict(get_model_preprocess_cfg(self.model))
        if self.tag and self.tag != RANDOM_WEIGHTS:
            tag_cfg = _open_clip().get_pretrained_cfg(self.arch, self.tag)
            cfg.update({k: tag_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in tag_cfg})
        size = cfg.get("size", 224)
        size = size[0] if isinstance(size, (tuple, list)) else int(size)
        from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

        return ImageRecipe(size=size, resize_to=size, mean=tuple(cfg.get("mean") or OPENAI_DATASET_MEAN),
                           std=tuple(cfg.get("std") or OPENAI_DATASET_STD), interpolation=cfg.get("interpolation") or "bicubic",
                           squash=cfg.get("resize_mode") == "squash")

    def _probe_dim(self) -> int:
        import torch

        size = self.model.visual.image_size
        size = size[0] if isinstance(size, (tuple, list)) else size
        with torch.inference_mode():
            return int(self.model.encode_image(torch.zeros(1, 3, size, size, device=self.device)).shape[-1])

    def _forward(self, inputs):
        return self.model.encode_image(inputs)

    def embed_texts(self, texts) -> np.ndarray:
        """Texts -> (N, dim) float32, L2-normalised, in the same space as the images."""
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if self._tokenizer is None:
            self._tokenizer = _open_clip().get_tokenizer(self.arch)
        with torch.inference_mode():
            tokens = self._tokenizer(texts).to(self.device)
            features = self.model.encode_text(tokens)
            return torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy()

    def describe(self) -> dict:
        return {**super().describe(), "arch": self.arch, "pretrained": self.tag or self.checkpoint or self.arch}
