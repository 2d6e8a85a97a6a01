"""Does the luminance judge read tone? The demo's real images, no GAN: the judges gan_demo.py fits (its 80/20 split),
raw-luminance and standardised (``Judge(grey=True, standardise=...)``), scored on the held-out real images clean and
under tone changes that keep the garment (per image: brightness x 0.8 / 1.2, contrast about the image mean x 0.7 /
1.3, gamma 0.7 / 1.4, 20 % toward white). Prints one JSON object: per judge seed and judge, the accuracies and their
mean and worst over the seven changes. A judge of shape should hold its clean accuracy under all of them.

Measured (session judge18, 2026-12-07, demo stores of corpora 0 and 1, splits of seeds 8 and 9, judge seeds
104-107, load 1.3-2.9): raw clean 0.970-1.0, mean over the changes 0.882, worst change 0.57-0.89; standardised clean
0.989-1.0, mean 0.997, worst 0.987-1.0 (docs/experiments.md, "The luminance judge read tone").

    python benchmarks/judge_tone.py --store /tmp/s --seed 8 --judge-seed 104 --judge-seed 105
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _unit(images):
    return images.astype(np.float64) / 255.0


def _uint8(x):
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def _contrast(images, factor):
    x = _unit(images)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)  # each image about its own mean
    return _uint8(mean + (x - mean) * factor)


TONE_CHANGES = {
    "brightness x0.8": lambda im: _uint8(_unit(im) * 0.8),
    "brightness x1.2": lambda im: _uint8(_unit(im) * 1.2),
    "contrast x0.7": lambda im: _contrast(im, 0.7),
    "contrast x1.3": lambda im: _contrast(im, 1.3),
    "gamma 0.7": lambda im: _uint8(_unit(im) ** 0.7),
    "gamma 1.4": lambda im: _uint8(_unit(im) ** 1.4),
    "lighten 20%": lambda im: _uint8(_unit(im) + 0.2 * (1.0 - _unit(im))),
}


def tone_accuracies(judge, images, labels) -> dict:
    """The judge's accuracy on ``images`` clean and under each tone change, with the changes' mean and worst."""
    out = {"clean": round(judge.accuracy(images, labels), 4)}
    for name, change in TONE_CHANGES.items():
        out[name] = round(judge.accuracy(change(images), labels), 4)
    changed = [out[name] for name in TONE_CHANGES]
    out["tone_mean"] = round(float(np.mean(changed)), 4)
    out["tone_worst"] = min(changed)
    return out


def main(argv=None) -> None:
    import gan_demo

    from trendgan.console import set_quiet
    from trendgan.gan.judge import Judge

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", type=Path, default=None, help="a store with the demo corpus embedded (else a fresh one)")
    p.add_argument("--seed", type=int, default=0, help="the split's seed (gan_demo.py's --seed)")
    p.add_argument("--judge-seed", type=int, action="append", default=[],
                   help="judge seeds (repeatable; default: --seed, as gan_demo.py fits them)")
    args = p.parse_args(argv)
    set_quiet(True)
    gan_args = gan_demo.parse_args(["--seed", str(args.seed)] + (["--store", str(args.store)] if args.store else []))
    store, corpus = gan_demo.prepare_store(gan_args, gan_demo.demo_settings(), Path(tempfile.mkdtemp(prefix="judge-tone-")))
    images, labels, _ = gan_demo.labelled_images(store, corpus, 32)
    order = np.random.default_rng(args.seed).permutation(len(images))  # gan_demo.fit_judges's split
    held, fit = order[: len(order) // 5], order[len(order) // 5 :]
    result = {"benchmark": "judge_tone", "store": str(store), "split_seed": args.seed, "fitted_on": len(fit),
              "held_out": len(held), "load_average_start": [round(v, 2) for v in os.getloadavg()], "judges": {}}
    for seed in args.judge_seed or [args.seed]:
        for name, standardise in (("raw_luminance", False), ("standardised_luminance", True)):
            judge = Judge(grey=True, standardise=standardise, seed=seed).fit(images[fit], labels[fit])
            result["judges"].setdefault(str(seed), {})[name] = tone_accuracies(judge, images[held], labels[held])
            print(f"judge seed {seed} {name}: {result['judges'][str(seed)][name]}", file=sys.stderr, flush=True)
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
