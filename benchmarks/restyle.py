"""Restyle quality on held-out catalogue photos (../shared/data/fashion-product-9k), GAN mode and style transfer.

For each held-out (garment, target) pair of topwear photos, restyle the garment toward the target photo at
strengths 0, 0.5 and 1 and measure:
- content similarity: SSIM of the restyled image to the garment (both at --compare-size px, luminance);
- target similarity: cosine of the restyled image's encoder embedding to the target photo's embedding;
- colour match: histogram intersection (8 bins per RGB channel) of the restyled garment's colours with the target
  garment's (backdrops masked out), independent of the encoder, which cares more about shape than colour.
The GAN mode needs a trained generator: by default a small one (gan-32) is trained briefly on other catalogue
photos (never the held-out ones); --checkpoint reuses one saved by --save-checkpoint or by `trendgan train`.

Prints one JSON object (with each pair's SSIM and colour match under ``per_pair``); progress goes to stderr;
--images-out writes a grid per mode (a row per pair: garment, target, each of --strengths) to look at.

    python benchmarks/restyle.py                                   # modest: 600 photos, 150 GAN steps, 6 pairs
    python benchmarks/restyle.py --gan-config proj-32 --gan-cpu-minutes 3 --modes gan --save-checkpoint p32.pt
    python benchmarks/restyle.py --checkpoint p32.pt --modes gan --pairs 6 --skip-pairs 6   # other held-out garments
    python benchmarks/restyle.py --train-images 4000 --gan-steps 3000 --pairs 30 --save-checkpoint gan32.pt

Measured (issue 18, 2026-12-07), first at equal steps over two training seeds (session eqstep18), then the earlier
single runs at a CPU-minute budget. Equal steps: `--modes gan --gan-config X --gan-steps 1500 --pairs 12 --seed 0
--train-seed S --strengths 0,0.25,0.5,0.75,1` for X in proj-32, gan-32 and S in 0, 1 (the same 600 photos and the
same 12 held-out garments and targets, none of them trained on; 100 inversion steps, feature weight 0.5, 1 thread;
each run 3-3.5 min wall, one at a time, 1-minute load 0.7-3.1). Mean of the two seeds; SSIM to the garment raw and
above that run's random-render SSIM (chance: proj-32 0.325 / 0.286, gan-32 0.400 / 0.387), colour match to the target,
at strengths 0, 0.25, 0.5, 0.75, 1:

                  SSIM                           above chance                   colour
    proj-32  0.705 0.678 0.616 0.561 0.525  0.400 0.372 0.310 0.255 0.220  0.350 0.373 0.399 0.420 0.423
    gan-32   0.783 0.718 0.602 0.537 0.498  0.390 0.324 0.209 0.144 0.104  0.334 0.368 0.414 0.477 0.496

Neither generator is better: proj-32 keeps more of the garment above chance at every strength (+0.115 at strength 1;
seeds +0.080 / +0.150) but never reaches gan-32's colour at strengths 0.75-1 (0.423 against 0.496 at strength 1; seeds
-0.057 / -0.089), so it failed the curve rule written beforehand (docs/experiments.md, "Restyle at equal steps"), and
gan-32 fails the same rule against proj-32. Between the two seeds of one config, strength-1 colour differs by up to
0.023 and SSIM above chance by up to 0.057: a difference smaller than that needs more seeds. In the grids both draw
the same wearers and poses; proj-32 smooth, gan-32 under coloured speckle, and both turn into the target's wearer at
strengths 0.75-1 (a man toward a woman's dress becomes a long-haired woman). On a second photo split (`--seed 1`,
the same commands, load 1.1-3.0), the same trade: above chance proj-32 0.461 0.445 0.409 0.363 0.314 against gan-32
0.412 0.376 0.298 0.231 0.179, colour 0.331 0.353 0.380 0.393 0.393 against 0.347 0.355 0.397 0.417 0.410.

At a real run's length the trade ends in proj-32's favour (docs/experiments.md, "Restyle at a real run's length"; the
same commands with --gan-steps 4000 / 10000, load 1.2-3.6). Strength 1, two-seed means, above chance / colour:

    split 0   4,000 steps    proj-32 0.231 / 0.490   gan-32 0.105 / 0.514   a trade
    split 0   10,000 steps   proj-32 0.284 / 0.509   gan-32 0.061 / 0.461   proj-32 ahead on both, each seed
    split 1   10,000 steps   proj-32 0.247 / 0.461   gan-32 0.103 / 0.417   proj-32 ahead on both, each seed

gan-32's restyle gets worse past 4,000 steps (its renders stay under coloured speckle); proj-32's keeps improving.
Each run also prints ``colour_reference``: per-pixel noise alone moves this colour match by 0.01-0.03 on real photos.

Earlier, one run each at a CPU-minute budget (within the training's noise: a later rerun of proj-32 that got ~340 more
steps moved strength-1 colour from 0.350 to 0.477); CPU, 1 thread, seed 0, the default 6 pairs, 100 inversion steps,
feature weight 0.5; each GAN trained on the same 600 photos for 3 CPU minutes (--gan-cpu-minutes 3, equal compute;
1-minute load 0.5-3.4 while proj-32 ran, 3.4-5.0 while gan-32 ran). SSIM to the garment / colour match to the
target / EfficientNet cosine to the target at strengths 0, 0.5, 1:

    proj-32 (1,342 steps, 240 s wall)  SSIM 0.746 0.667 0.543  colour 0.261 0.298 0.350  cos 0.362 0.388 0.384
    gan-32  (1,505 steps, 211 s wall)  SSIM 0.827 0.691 0.485  colour 0.296 0.348 0.431  cos 0.321 0.308 0.298

Unrelated renders reach SSIM 0.199 (proj-32) and 0.396 (gan-32) against the same garments, so proj-32's
reconstruction stands further above chance (+0.55 against +0.43). The cosines are in the space proj-32's discriminator
was trained on and flatter it; SSIM and colour match are the encoder-independent measures. In the grids, proj-32
draws recognisable people in tops (a purple top on a woman, a white shirt on a man), but strength 1 draws the
*target's* photo: its model, pose and cut (a white shirt on a man becomes a black printed tee, a lilac shirt a flat
red tee with no wearer); gan-32's renders are the same figures under coloured speckle. Refitting z to the garment's
shape under each blended condition (a silhouette or luminance term, side branch restyle18-refit) raised SSIM by
about 0.03 at strengths 0.5 and 1 on proj-32 but cost 0.02-0.03 colour match, which failed its rule set beforehand;
the z of this generator cannot hold a silhouette the condition does not want.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOPWEAR = ("Tshirts", "Shirts", "Tops", "Kurtas", "Sweatshirts", "Sweaters", "Jackets", "Tunics", "Dresses")
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fashion-product-9k"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="fashion-product-9k folder (styles.csv + images/)")
    parser.add_argument("--pairs", type=int, default=6, help="held-out (garment, target) pairs (default 6)")
    parser.add_argument("--train-images", type=int, default=600, help="catalogue photos the GAN trains on (default 600)")
    parser.add_argument("--gan-config", default="gan-32", help="trendgan.gan config (default gan-32)")
    parser.add_argument("--gan-steps", type=int, default=150, help="GAN training steps (default 150; a real run: 3000+)")
    parser.add_argument("--gan-cpu-minutes", type=float, default=None,
                        help="train for this much CPU time instead of --gan-steps (equal compute for two configs)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="use this trained checkpoint.pt instead of training")
    parser.add_argument("--save-checkpoint", type=Path, default=None, help="save the briefly trained GAN here")
    parser.add_argument("--inversion-steps", type=int, default=100, help="GAN inversion steps per garment (default 100)")
    parser.add_argument("--feature-weight", type=float, default=0.5, help="inversion feature-loss weight (0: pixels only)")
    parser.add_argument("--condition-offset", action=argparse.BooleanOptionalAction, default=False,
                        help="let the inversion learn a small offset to the garment's condition (default off)")
    parser.add_argument("--skip-pairs", type=int, default=0,
                        help="hold out --pairs + this many garments and measure only the last --pairs (a development set "
                             "beside the default pairs; use with --checkpoint). A GAN trained here with P pairs skipped "
                             "the first 4 P photos: garments up to 4 P are unseen by it, but targets come from the "
                             "next 3 x (pairs + skip) photos, so some are photos it trained on")
    parser.add_argument("--transfer-steps", type=int, default=60, help="style transfer steps per garment (default 60)")
    parser.add_argument("--transfer-size", type=int, default=128, help="style transfer resolution (default 128)")
    parser.add_argument("--compare-size", type=int, default=None, help="SSIM resolution (default: the GAN's image size)")
    parser.add_argument("--modes", default="gan,transfer", help="comma-separated: gan, transfer")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: on a busy machine more is slower)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the photo split, the inversion and the random renders (and of training, unless "
                             "--train-seed)")
    parser.add_argument("--train-seed", type=int, default=None,
                        help="seed of the GAN's training only (default: --seed), so two training seeds can be compared "
                             "on one photo split")
    parser.add_argument("--strengths", default="0,0.5,1", help="comma-separated strengths (default 0,0.5,1)")
    parser.add_argument("--images-out", type=Path, default=None,
                        help="write one grid per mode here: a row per pair (garment, target, each strength)")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pick_photos(data: Path, n_train: int, n_pairs: int, seed: int):
    """Disjoint photo sets: training photos for the GAN, and held-out garment/target pairs of different colours."""
    import pandas as pd

    catalogue = pd.read_csv(data / "styles.csv")
    catalogue = catalogue[catalogue["articleType"].isin(TOPWEAR)]
    catalogue = catalogue[[(data / p).is_file() for p in catalogue["image"]]]
    shuffled = catalogue.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    held_out, train = shuffled.iloc[: 4 * n_pairs], shuffled.iloc[4 * n_pairs : 4 * n_pairs + n_train]
    garments, pairs = held_out.iloc[:n_pairs], []
    candidates = held_out.iloc[n_pairs:]
    for _, garment in garments.iterrows():
        different = candidates[candidates["baseColour"] != garment["baseColour"]]
        target = (different if len(different) else candidates).iloc[len(pairs) % max(1, len(different) or len(candidates))]
        pairs.append((data / garment["image"], data / target["image"], str(garment["baseColour"]), str(target["baseColour"])))
    return [data / p for p in train["image"]], pairs


def get_encoder(device: str):
    """The project's offline encoder (trendgan.embed), or the same backbone pooled here while that stage is absent."""
    try:
        from trendgan.embed import get_encoder as project_encoder

        return project_encoder("effnet-lite0", device=device)
    except ImportError:
        log("trendgan.embed is not available: using EfficientNet-Lite0 pooled features from trendgan.design.features")
        return PooledEffnet(device)


class PooledEffnet:
    key = "effnet-lite0-pooled"
    has_text = False

    def __init__(self, device="cpu"):
        from trendgan.design.features import _backbone

        self.device, self.model = device, _backbone(str(device))

    def embed_images(self, images, batch=32):
        import torch

        from trendgan.design.images import image_to_tensor

        rows = []
        with torch.no_grad():
            for start in range(0, len(images), batch):
                x = torch.cat([image_to_tensor(img, 224, self.device) for img in images[start : start + batch]])
                rows.append(self.model.extract_features(x).mean(dim=(2, 3)).cpu().numpy())
        rows = np.concatenate(rows).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def train_generator(paths, encoder, args):
    import torch

    from trendgan.design.images import fit_square, open_image
    from trendgan.gan.sampling import Renderer
    from trendgan.gan.trainer import GanTrainer, train_loop

    trainer = GanTrainer(args.gan_config, cond_dim=0 or _dim(encoder), device=args.device, seed=training_seed(args))
    size = trainer.config.image_size
    images = [open_image(p) for p in paths]
    log(f"embedding {len(images)} training photos")
    started = time.perf_counter()
    conditions = torch.from_numpy(encoder.embed_images(images))
    embed_seconds = time.perf_counter() - started
    pixels = torch.from_numpy(np.stack([np.asarray(fit_square(img, size)) for img in images])).permute(0, 3, 1, 2).contiguous()
    budget = f"{args.gan_cpu_minutes} CPU minutes" if args.gan_cpu_minutes else f"{args.gan_steps} steps"
    log(f"training {args.gan_config} for {budget} on {len(images)} photos")
    started, cpu_started = time.perf_counter(), time.process_time()
    if args.gan_cpu_minutes:
        losses = train_loop(trainer, pixels, conditions, cpu_minutes=args.gan_cpu_minutes)
    else:
        losses = train_loop(trainer, pixels, conditions, until_step=args.gan_steps)
    cpu_seconds = time.process_time() - cpu_started
    trainer.refresh_ema_statistics(conditions)
    train_seconds = time.perf_counter() - started
    if args.save_checkpoint:
        state = trainer.state_dict()
        state["encoder_key"] = encoder.key
        torch.save(state, args.save_checkpoint)
    renderer = Renderer(generator=trainer.ema, z_dim=trainer.config.z_dim, cond_dim=trainer.cond_dim, image_size=size,
                        encoder_key=encoder.key, device=trainer.device, step=trainer.step)
    info = {"config": args.gan_config, "steps": trainer.step, "train_seed": training_seed(args), "train_images": len(images),
            "train_seconds": round(train_seconds, 1),
            "train_cpu_seconds": round(cpu_seconds, 1), "embed_images_per_s": round(len(images) / embed_seconds, 1),
            "final_losses": {k: round(float(v), 4) for k, v in losses.items() if k.startswith("loss")}}
    return renderer, info


def training_seed(args) -> int:
    """The GAN's training seed: --train-seed where given, else --seed (which also picks the photos)."""
    return args.seed if args.train_seed is None else args.train_seed


def parse_strengths(text: str) -> list[float]:
    return [float(s) for s in text.split(",") if s.strip()]


def strength_key(s: float) -> str:
    """Summary key of a strength: one decimal where that is exact (0.0, 0.5, 1.0, as before), else as written (0.25)."""
    return f"{s:.1f}" if round(s, 1) == s else f"{s:g}"


def _dim(encoder) -> int:
    from PIL import Image

    return int(encoder.embed_images([Image.new("RGB", (32, 32), (128, 128, 128))]).shape[1])


def measure(mode, pairs, renderer, encoder, args):
    """Restyle every pair at strengths 0, 0.5, 1; mean SSIM to the garment and cosine to the target per strength."""
    from PIL import Image

    from trendgan.design import restyle, structural_similarity
    from trendgan.design.images import fit_square, open_image
    from trendgan.design.invert import InversionSettings
    from trendgan.design.transfer import TransferSettings
    from trendgan.store import Store

    strengths = parse_strengths(args.strengths)
    size = args.compare_size or (renderer.image_size if renderer else 64)
    rows, seconds, reconstruction, grid_rows = [], [], [], []
    renders = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        for i, (garment, target, garment_colour, target_colour) in enumerate(pairs):
            started = time.perf_counter()
            result = restyle(store, garment, to=str(target), strength=strengths, n=1, mode=mode, seed=args.seed,
                             device=args.device, renderer=renderer, encoder=encoder,
                             inversion=InversionSettings(steps=args.inversion_steps, feature_weight=args.feature_weight,
                                                         condition_offset=args.condition_offset),
                             transfer=TransferSettings(steps=args.transfer_steps, size=args.transfer_size))
            seconds.append(time.perf_counter() - started)
            if result.reconstruction_ssim is not None:
                reconstruction.append(result.reconstruction_ssim)
            garment_image = open_image(garment)
            original = fit_square(garment_image, size)
            target_image = fit_square(open_image(target), 64)
            renders = [Image.open(result.folder / entry["file"]).convert("RGB") for entry in result.files]
            if args.images_out:
                by_strength = {entry["strength"]: render for entry, render in zip(result.files, renders)}
                grid_rows.append([fit_square(garment_image, 64), target_image]
                                 + [by_strength[s].resize((64, 64), Image.Resampling.BICUBIC) for s in strengths])
            for entry, render in zip(result.files, renders):
                small = render.resize((size, size), Image.Resampling.BICUBIC)
                rows.append({"pair": i, "strength": entry["strength"], "ssim_content": structural_similarity(original, small),
                             "cos_target": entry["cos_target"], "cos_garment": entry["cos_garment"],
                             "colour_match": colour_match(render.resize((64, 64)), target_image)})
            log(f"{mode} {i + 1}/{len(pairs)}: {garment_colour} -> {target_colour} in {seconds[-1]:.1f} s")
    if args.images_out:
        save_grid(grid_rows, args.images_out / f"restyle-{mode}.png")
    summary = {}
    for s in strengths:
        chosen = [r for r in rows if r["strength"] == s]
        summary[strength_key(s)] = {k: round(float(np.mean([r[k] for r in chosen])), 4)
                               for k in ("ssim_content", "cos_target", "cos_garment", "colour_match")}
    summary["per_pair"] = {k: [[round(float(r[k]), 4) for r in rows if r["strength"] == s] for s in strengths]
                           for k in ("ssim_content", "colour_match")}  # [strength][pair]
    summary["seconds_per_garment"] = round(float(np.mean(seconds)), 2)
    summary["compare_size"] = size
    if reconstruction:
        summary["reconstruction_ssim_at_gan_size"] = round(float(np.mean(reconstruction)), 4)
    if renders:
        summary["colour_reference"] = colour_reference(pairs, renders[0].size[0])
    return summary


def colour_reference(pairs, size: int, noise_sd: float = 20.0, seed: int = 0) -> dict:
    """What the colour match means for real photos drawn at the renders' size, scored as the renders are (at 64 px
    against the target at 64 px), mean over the pairs:

    - ``garment``: the garment's own photo against its target: what a perfect reconstruction (strength 0) scores;
    - ``target``: the target's own photo: the most a restyle that became the target could score at this size;
    - ``garment_speckled``: the garment's photo with per-pixel noise (sd ``noise_sd`` grey levels) added at the render
      size: how far speckle alone, with no colour moved toward the target, shifts the measure.

    The last exists because histogram intersection rewards colour spread a little: on the catalogue pairs of photo
    splits 0 and 1, noise of sd 10-20 raised the garments' match to their targets by 0.009-0.034 (sd 40 lowered it),
    about the size of the strength-1 colour gaps between generators measured here (docs/experiments.md)."""
    from PIL import Image

    from trendgan.design.images import fit_square, open_image

    rng = np.random.default_rng(seed)
    scores = {"garment": [], "target": [], "garment_speckled": []}
    for garment, target, *_ in pairs:
        garment_photo, target_photo = open_image(garment), open_image(target)
        garment_small, target_small = fit_square(garment_photo, size), fit_square(target_photo, size)
        target_image = fit_square(target_photo, 64)
        noisy = np.asarray(garment_small, dtype=float) + rng.normal(0.0, noise_sd, size=(size, size, 3))
        speckled = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        for key, image in (("garment", garment_small), ("target", target_small), ("garment_speckled", speckled)):
            scores[key].append(colour_match(image.resize((64, 64)), target_image))
    return {key: round(float(np.mean(values)), 4) for key, values in scores.items()}


def save_grid(rows, path: Path) -> None:
    """One row per pair: garment, target, then the renders at each strength (64 px each)."""
    from trendgan.gan.sampling import image_grid, save_png

    path.parent.mkdir(parents=True, exist_ok=True)
    tiles = np.stack([np.asarray(img.convert("RGB").resize((64, 64))) for row in rows for img in row])
    save_png(image_grid(tiles, columns=len(rows[0])), path)


def colour_match(image, target, bins: int = 8) -> float:
    """Histogram intersection (0..1) of the garment colours of two images, backdrops masked out."""
    from trendgan.design.images import image_to_tensor
    from trendgan.design.transfer import garment_region

    def histogram(img):
        mask = garment_region(image_to_tensor(img, img.size[0]))[0, 0].numpy() > 0.5
        pixels = np.asarray(img, dtype=np.int64)[mask] * bins // 256
        counts = np.bincount((pixels[:, 0] * bins + pixels[:, 1]) * bins + pixels[:, 2], minlength=bins**3)
        return counts / max(1, counts.sum())

    return float(np.minimum(histogram(image), histogram(target)).sum())


def random_render_ssim(pairs, renderer, args) -> float:
    """SSIM of unrelated renders to each garment: the floor a reconstruction must beat."""
    from PIL import Image

    from trendgan.design import structural_similarity
    from trendgan.design.images import fit_square, open_image

    size = args.compare_size or renderer.image_size
    rng = np.random.default_rng(args.seed)
    conditions = rng.normal(size=(8, renderer.cond_dim)).astype(np.float32)
    renders = [Image.fromarray(r).resize((size, size)) for r in renderer.render(conditions, seed=args.seed + 1)]
    scores = [structural_similarity(fit_square(open_image(g), size), r) for g, *_ in pairs for r in renders]
    return round(float(np.mean(scores)), 4)


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from trendgan.console import set_quiet

    set_quiet(True)  # the library's own chatter; this script logs its progress itself
    if not (args.data / "styles.csv").is_file():
        print(json.dumps({"skipped": f"no fashion-product-9k data at {args.data}"}))
        return
    from trendgan.devices import pick_device

    args.device = str(pick_device(args.device))
    train_paths, pairs = pick_photos(args.data, args.train_images, args.pairs + args.skip_pairs, args.seed)
    pairs = pairs[args.skip_pairs :]
    encoder = get_encoder(args.device)
    target_cos = float(np.mean([
        float(np.dot(*encoder.embed_images([_open(g), _open(t)]))) for g, t, *_ in pairs]))
    report = {"benchmark": "restyle", "data": str(args.data), "pairs": len(pairs), "encoder": encoder.key,
              "inversion_steps": args.inversion_steps, "feature_weight": args.feature_weight,
              "condition_offset": args.condition_offset, "skip_pairs": args.skip_pairs,
              "threads": args.threads, "device": args.device, "garment_to_target_cos": round(target_cos, 4),
              "note": "shared, noisy CPU: compare ratios, not absolute seconds"}
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "gan" in modes:
        if args.checkpoint:
            from trendgan.gan.sampling import Renderer

            renderer, report["gan"] = Renderer.from_checkpoint(args.checkpoint, device=args.device), {"checkpoint": str(args.checkpoint)}
        else:
            renderer, report["gan"] = train_generator(train_paths, encoder, args)
        report["gan_mode"] = measure("gan", pairs, renderer, encoder, args)
        report["gan_mode"]["random_render_ssim"] = random_render_ssim(pairs, renderer, args)
        args.compare_size = args.compare_size or renderer.image_size
    if "transfer" in modes:
        report["transfer_mode"] = measure("transfer", pairs, None, encoder, args)
    print(json.dumps(report, indent=2))


def _open(path):
    from trendgan.design.images import open_image

    return open_image(path)


if __name__ == "__main__":
    main()
