"""How fast asking for CLIP weights that cannot be had fails: offline with nothing cached, and with the hub
unreachable (a refused connection). A user waits this long before the one-line error naming both ways out.

Prints one JSON object: seconds for each case (best of --repeats, after one warm-up that imports open_clip and
huggingface_hub), the targets (5 s and 8 s on a 2-core CPU; these were wall-clock asserts in
tests/embed/test_encoders.py, moved here because a shared machine's load made them fail at random) and whether each
was met.

    python benchmarks/encoder_failures.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"offline_tag_s": 5.0, "unreachable_hub_s": 8.0}


def _time_failure(env: dict[str, str | None], cache: str, said: list | None = None) -> float:
    import huggingface_hub.constants

    from trendgan.embed import DEFAULT_CLIP, get_encoder
    from trendgan.errors import WeightsUnavailableError

    saved = {key: os.environ.get(key) for key in env}
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    huggingface_hub.constants.HF_HUB_CACHE = cache
    try:
        started = time.perf_counter()
        try:
            get_encoder(DEFAULT_CLIP)
        except WeightsUnavailableError as exc:
            seconds = time.perf_counter() - started
            if said is not None:  # which case the message says it was: the timing is of the right failure
                said.append("unreachable" if "unreachable" in str(exc) else "offline" if "offline" in str(exc) else "other")
            return seconds
        raise SystemExit("the weights loaded: this machine has them cached or online; nothing to measure")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main(repeats: int = 3) -> dict:
    cases = {"offline_tag_s": {"HF_HUB_OFFLINE": "1"},
             "unreachable_hub_s": {"HF_HUB_OFFLINE": None, "HF_ENDPOINT": "https://127.0.0.1:9"}}
    with tempfile.TemporaryDirectory() as cache:
        _time_failure(cases["offline_tag_s"], cache)  # warm-up: imports
        said: dict[str, list] = {name: [] for name in cases}
        seconds = {name: min(_time_failure(env, cache, said[name]) for _ in range(repeats)) for name, env in cases.items()}
    return {
        "benchmark": "encoder_failures", **{k: round(v, 3) for k, v in seconds.items()},
        "messages_say": {name: sorted(set(words)) for name, words in said.items()},
        "targets": TARGETS, "met": {k: seconds[k] < TARGETS[k] for k in TARGETS},
        "load_average": os.getloadavg()[0], "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
