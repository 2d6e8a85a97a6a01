"""trendgan's conditional GAN against the plain fully connected GAN it replaces, on Fashion-MNIST, for an equal
budget each (wall clock, or with --cpu-minutes this process's CPU time, which a shared machine cannot skew).
Prints one JSON object (progress on stderr) and saves one sample grid per model to --out.

Judge: a small CNN trained on the Fashion-MNIST training split (its test accuracy is printed); no GAN trains
against it (proj-* configs train against EfficientNet-Lite0 features). Scores, all in the judge's space:
- frechet_distance: in the judge's 64-d penultimate features, generated images vs the 10,000 test images
  (trendgan conditioned on the embeddings of random training images, the baseline from its noise);
- precision / recall: k-NN manifolds in the same features;
- inception_score: exp E KL(p(y|x) || p(y)) with the judge's class probabilities (test images: ``inception_score_real``);
- conditional_accuracy (trendgan): the judge's accuracy on renders conditioned on each class's centroid;
- frechet_distance_centroid_renders (trendgan): the same distance for those renders (10 conditions, z varies);
- diversity (trendgan): per class, the mean pairwise distance of those renders in the judge's features beside the
  same for as many test images of the class; the ratio is near 0 when the generator ignores z
  (``trendgan.gan.judge.diversity_scores``; before session gan6 a twin of it here drew another sample of the test
  images: 0.6724 then, 0.6688 now, for the same renders);
- own_vector_accuracy (trendgan): the judge's accuracy on the renders of training images' own vectors (the FD's
  renders) against each image's class;
- member_renders (trendgan, per k of --member-k, default k = --per-class): the centroid renders' figures for renders
  at k members of each class instead (``trendgan.gan.renders.member_conditions``: k-means sub-centres of the class's
  training vectors, the image nearest each, cycled to --per-class renders with the centroid renders' z), beside
  ``member_images_judge_accuracy``, the judge on those member images themselves.

Conditions (--encoder): ``pca`` is a PCA of the pixels (fitted on the training images, L2-normalised, --pca-dims),
a cheap stand-in for the store's image encoder; ``effnet`` is effnet-lite0, the product's offline encoder, each image
embedded as the embed stage embeds a grey image file (1280-d, cached under --embed-cache). The two spaces differ in
what they group: in the pixel PCA shirts are not a region (``centroid_neighbour_purity``, printed for both encoders
with --encoder effnet), so a generator conditioned on the shirt centroid draws whatever sits around it.
effnet-lite0 embeds about 12-37 images/s on this 2-core CPU (224 px input), 30-80 minutes for all 60,000, so with
``--train-subset N`` both GANs train on the same fixed random N training images (the judge still sees all 60,000).
PCA stays the default because that embedding cost is several times the GANs' own budget on a CPU, and on one
5,000-image subset (seed 0, proj-32, 10 CPU minutes) effnet conditions did not raise conditional accuracy (0.774
against PCA's 0.838; shirts 0.05 and 0.07): shirts are a tighter region in effnet (centroid purity 0.66 vs 0.53) but
not one the generator renders as a shirt the judge accepts. effnet is the space the product conditions on: use it to
check a change in that space, where the embedding is cheap (a GPU) or cached.

Where proj-32's conditional accuracy is lost (10 CPU minutes, 5,306 steps, seed 0, load 5; session gan5): 0.845
overall, every class >= 0.93 but Coat 0.71 (27 % called Pullover), Sandal 0.75 (24 % Sneaker) and Shirt 0.09 (91 %
called Pullover). The judge itself gets real test shirts right only 0.64 of the time (pullovers 0.80, coats 0.86,
T-shirts 0.86; ``judge_test_accuracy_per_class``), but the shirt condition is not the limit: the judge calls 60 of
the 100 real training images nearest the shirt centroid shirts, and the class's mean image a shirt, while the GAN's
renders there are pullovers. In the pixel PCA only 12 % of shirts lie nearest their own class centroid (the
Pullover centroid is its nearest, cosine 0.77; ``condition_separability``). ``--truncation`` scores the same
generator at several psi (``Renderer.render``): on that run psi 1 / 0.8 / 0.6 / 0.4 / 0.2 / 0 gave conditional
accuracy 0.845 / 0.852 / 0.874 / 0.891 / 0.90 / 0.90 (Shirt 0.09 falling to 0, every other class reaching 1.0),
precision 0.75 / 0.80 / 0.84 / 0.87 / 0.90 / 0.90, recall 0.62 / 0.55 / 0.44 / 0.31 / 0.19 / 0.15 and FD 4.3 / 4.9 /
6.1 / 7.5 / 8.7 / 9.3 (the fully connected baseline, 10 CPU minutes: FD 22.0, so ratios 0.19 to 0.42): truncation
buys the look-alike classes' accuracy with recall and never draws a shirt.

Renders at a class's members instead of its centroid (session gan6; the hypothesis: a centroid of an overlapping
class is an average that sits where the neighbour's images are, so render at the class's own images). One proj-32
generator (before cond_standardise), 10 CPU minutes, 5,020 steps, seed 0 (load 1.3 -> 3.3 while training), scored
with --load-generator --member-k 100 --member-k 8 (load 3.7 -> 3.9), the same z for all three: conditional accuracy
at the centroids 0.849 (Coat 0.58, Sandal 0.86, Shirt 0.20, Sneaker 0.88, every other class >= 0.98), FD of those
renders 21.7, diversity ratio 0.67; at 8 members per class 0.728 (Shirt 0.22, Coat 0.51, Sneaker 0.64), FD 6.7,
diversity 1.12, while the judge calls 96 % of those 80 member images right; at 100 members 0.647 (Shirt 0.20), FD
6.8, diversity 1.23, members themselves 89 %. Member renders vary (dark and white tops, totes and clutches, heeled
and flat boots in one column of the grid, where the centroid's column repeats one garment) and sit nearer the real
distribution, but a render at a member of an overlapping class is drawn as the neighbour more often than the member
is one: the condition does not pin the class, so ``trendgan render`` keeps the centroid (``member_conditions`` has
the demo's figures).

Style centroids (configs with ``cond_centroid`` > 0, ``--centroids``): the product trains a share of its steps at
each image's style centroid from the styles stage. Fashion-MNIST has no styles run, so k-means on the condition
vectors (--centroid-k 10) stands in for it; ``labels`` (class centroids) is the upper bound of styles that recover
the classes exactly, which the product does not have. The k-means groups are impure in the pixel PCA (purity is
printed: 0.58 at k = 10), so a cluster's centroid is not its class's.

    python benchmarks/gan_fmnist.py                       # modest: 2 minutes per model (proj-32)
    python benchmarks/gan_fmnist.py --cpu-minutes 10 --threads 1   # the full comparison, fair on a shared CPU
    python benchmarks/gan_fmnist.py --config gan-32-lite --cpu-minutes 10 --threads 1   # the previous default
    python benchmarks/gan_fmnist.py --config proj-32-probe --cpu-minutes 10 --threads 1   # the condition probe
    python benchmarks/gan_fmnist.py --cpu-minutes 10 --threads 1 --skip-baseline --set cond_centroid=0.5 \
        --set z_every_block=true     # an option against the default (run the default beside it, same load)
    python benchmarks/gan_fmnist.py --cpu-minutes 10 --threads 1 --skip-baseline --save-generator /tmp/g.pt
    python benchmarks/gan_fmnist.py --load-generator /tmp/g.pt --skip-baseline --truncation 1,0.7,0.4  # psi sweep
    python benchmarks/gan_fmnist.py --encoder effnet --train-subset 20000 --embed-only      # embed once (cached)
    python benchmarks/gan_fmnist.py --encoder effnet --train-subset 20000 --cpu-minutes 10 --threads 1
    python benchmarks/gan_fmnist.py --data products --config gan-64 --device cuda --minutes 10   # GPU, photos
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


ENCODER_KEYS = {"pca": "pca-stand-in", "effnet": "effnet-lite0"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", choices=["fashion-mnist", "products"], default="fashion-mnist",
                   help="fashion-mnist (CPU comparison) or products (fashion-product-9k photos: GPU speed run)")
    p.add_argument("--data-dir", type=Path, default=DATA, help="folder holding fashion-mnist/ and fashion-product-9k/")
    p.add_argument("--minutes", type=float, default=2.0, help="wall-clock training budget per model")
    p.add_argument("--cpu-minutes", type=float, default=None,
                   help="CPU-time budget per model instead (this process's user + system time; use with --threads 1)")
    p.add_argument("--steps", type=int, default=None, help="train trendgan for this many steps instead of --minutes (tuning)")
    p.add_argument("--config", default="proj-32", help="trendgan GAN config (proj-32 on CPU, proj-64 for photos on a GPU)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a field of the config for this run (JSON value), e.g. --set cond_centroid=0.5 "
                        "--set z_every_block=true; repeatable")
    p.add_argument("--centroids", choices=["kmeans", "labels"], default="kmeans",
                   help="each training image's style centroid, for configs with cond_centroid > 0: kmeans (the "
                        "centroid of its k-means cluster of the condition vectors, --centroid-k clusters: what the "
                        "styles stage gives the product) or labels (its class's centroid: styles that recover the "
                        "classes exactly, an upper bound the product does not have)")
    p.add_argument("--centroid-k", type=int, default=10, help="k-means clusters for --centroids kmeans")
    p.add_argument("--encoder", choices=["pca", "effnet"], default="pca",
                   help="what the GAN is conditioned on: pca (a PCA of the pixels, a stand-in at no CPU cost) or "
                        "effnet (effnet-lite0 vectors, the product's offline encoder; about 12 images/s on one busy "
                        "CPU core, so use --train-subset and --embed-cache)")
    p.add_argument("--pca-dims", type=int, default=32, help="width of the stand-in encoder's vectors")
    p.add_argument("--train-subset", type=int, default=0,
                   help="train both GANs on only this many training images (a fixed random subset per --seed; "
                        "0: all 60,000); the judge still trains on all of them")
    p.add_argument("--embed-cache", type=Path, default=None,
                   help="folder for the effnet vectors of the training images, reused by later runs "
                        "(default: --out/effnet-cache)")
    p.add_argument("--embed-only", action="store_true",
                   help="embed the --train-subset images with effnet-lite0 into --embed-cache and stop")
    p.add_argument("--judge-epochs", type=int, default=2, help="epochs of the judge classifier")
    p.add_argument("--n-eval", type=int, default=5000, help="generated images per model for the Frechet distance")
    p.add_argument("--per-class", type=int, default=100, help="renders per class centroid for conditional accuracy")
    p.add_argument("--member-k", type=int, action="append", default=[],
                   help="also score renders at k members of each class (trendgan.gan.renders.member_conditions, "
                        "cycled to --per-class renders); repeatable; default: k = --per-class")
    p.add_argument("--max-photos", type=int, default=0, help="products: use only the first N photos (0: all)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0: the cores other work leaves free, measured at the start; on a busy "
                        "2-core machine torch's default of 2 made each step several times slower)")
    p.add_argument("--truncation", default=None,
                   help="comma-separated truncation psi values at which trendgan's renders are scored (1: untruncated; "
                        "each psi gets its own conditional accuracy, precision/recall and diversity); default: the "
                        "config's render_truncation (the headline figures, what the product renders), then 1")
    p.add_argument("--save-generator", type=Path, default=None,
                   help="write trendgan's trained EMA generator here (a checkpoint Renderer.from_checkpoint reads)")
    p.add_argument("--load-generator", type=Path, default=None,
                   help="score this saved generator instead of training one (e.g. at other --truncation values)")
    p.add_argument("--skip-baseline", action="store_true", help="train only trendgan's GAN")
    p.add_argument("--skip-trendgan", action="store_true",
                   help="train only the baseline (with --cpu-minutes, run it beside a --skip-baseline process: the "
                        "same budget each in half the wall time on a busy machine)")
    p.add_argument("--out", type=Path, default=Path("benchmark-out/gan_fmnist"), help="where sample grids go (not git)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


# --------------------------------------------------------------------------- data


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape).copy()


def load_fashion_mnist(folder: Path):
    if not folder.exists():
        sys.exit(f"needs {folder} (Fashion-MNIST IDX files); see ../shared/data/README.md")
    return (read_idx(folder / "train-images-idx3-ubyte.gz"), read_idx(folder / "train-labels-idx1-ubyte.gz"),
            read_idx(folder / "t10k-images-idx3-ubyte.gz"), read_idx(folder / "t10k-labels-idx1-ubyte.gz"))


def load_products(folder: Path, size: int, limit: int = 0) -> np.ndarray:
    from PIL import Image, ImageOps

    paths = sorted((folder / "images").glob("*.jpg"))[: limit or None]
    if not paths:
        sys.exit(f"needs {folder}/images/*.jpg (fashion-product-9k)")
    images = [np.asarray(ImageOps.fit(Image.open(p).convert("RGB"), (size, size)), np.uint8) for p in paths]
    return np.stack(images)


def stand_in_encoder(train_pixels: np.ndarray, dims: int, seed: int):
    """PCA of the pixels with L2-normalised outputs: a vector space like an image encoder's, at no CPU cost."""
    from sklearn.decomposition import PCA

    flat = train_pixels.reshape(len(train_pixels), -1).astype(np.float32) / 255.0
    pca = PCA(n_components=dims, random_state=seed).fit(flat[np.random.default_rng(seed).permutation(len(flat))[:20000]])

    def encode(pixels: np.ndarray) -> np.ndarray:
        vectors = pca.transform(pixels.reshape(len(pixels), -1).astype(np.float32) / 255.0).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    return encode


def training_subset(n_train: int, size: int, seed: int) -> np.ndarray:
    """Indices of the training images the GANs see: all of them in file order when size is 0 (the benchmark as it
    always ran), else the first ``size`` of a permutation fixed by ``seed``, so a larger subset extends a smaller one
    and the effnet cache keeps growing."""
    if not size or size >= n_train:
        return np.arange(n_train)
    return np.random.default_rng(seed).permutation(n_train)[:size]


def effnet_encoder_vectors(train_pixels: np.ndarray, indices: np.ndarray, cache: Path, seed: int,
                           chunk: int = 1000) -> np.ndarray:
    """effnet-lite0 vectors (1280-d, L2-normalised) of ``train_pixels[indices]``, as the product embeds a grey image
    file: PIL image -> the encoder's own recipe (RGB, bicubic resize to 256, centre crop 224) -> pooled features.

    Vectors are cached in chunks of ``chunk`` images of the seed's permutation under ``cache``, so an interrupted
    embedding resumes and a rerun embeds nothing (effnet-lite0 at 224 px runs about 12 images/s on a busy CPU core).
    """
    from PIL import Image

    from trendgan.embed import get_encoder

    if np.array_equal(indices, np.arange(len(train_pixels))):
        folder = cache / "effnet-lite0-fmnist-train-all"
    elif np.array_equal(indices, np.random.default_rng(seed).permutation(len(train_pixels))[: len(indices)]):
        folder = cache / f"effnet-lite0-fmnist-train-perm{seed}"
    else:
        raise ValueError("effnet vectors are cached for training_subset's indices only")
    folder.mkdir(parents=True, exist_ok=True)
    encoder, parts = None, []
    for start in range(0, len(indices), chunk):
        path = folder / f"{start:05d}-{chunk}.npy"
        stop = min(start + chunk, len(indices))
        if path.exists() and len(cached := np.load(path)) >= stop - start:
            parts.append(cached[: stop - start])
            continue
        encoder = encoder or get_encoder("effnet-lite0", device="cpu")  # weights from their package: no download
        block_started = time.perf_counter()
        block = indices[start : start + chunk]   # always embed a whole chunk so later, larger subsets reuse it
        vectors = np.concatenate([encoder.embed_pixels(encoder.recipe.stack([Image.fromarray(a) for a in
                                                                              train_pixels[block[i : i + 64]]]))
                                  for i in range(0, len(block), 64)])
        np.save(path, vectors)
        log(f"effnet-lite0: embedded training images {start}-{start + len(block)} "
            f"({len(block) / (time.perf_counter() - block_started):.1f} images/s)")
        parts.append(vectors[: stop - start])
    return np.concatenate(parts).astype(np.float32)


def to_gan_images(grey28: np.ndarray):
    """(N, 28, 28) uint8 -> (N, 3, 32, 32) uint8 tensor: padded with the background and repeated to RGB."""
    import torch

    padded = np.pad(grey28, ((0, 0), (2, 2), (2, 2)))
    return torch.from_numpy(np.repeat(padded[:, None], 3, axis=1).copy())


def from_gan_images(rgb32: np.ndarray) -> np.ndarray:
    """uint8 (N, 32, 32, 3) renders -> (N, 28, 28) uint8 grey, as the judge sees Fashion-MNIST."""
    return rgb32[:, 2:30, 2:30].mean(axis=3).round().astype(np.uint8)


# --------------------------------------------------------------------------- the judge


def build_judge():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(),  # the 64-d features the Frechet distance uses
        nn.Linear(64, 10),
    )


def _judge_input(grey28: np.ndarray):
    import torch

    return torch.from_numpy(grey28).float().div(255.0).unsqueeze(1)


def train_judge(images, labels, epochs: int, seed: int):
    import torch

    torch.manual_seed(seed)
    judge = build_judge()
    opt = torch.optim.Adam(judge.parameters(), lr=2e-3)
    x, y = _judge_input(images), torch.from_numpy(labels.astype(np.int64))
    for epoch in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 128):
            batch = order[start : start + 128]
            loss = torch.nn.functional.cross_entropy(judge(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        log(f"judge epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}")
    return judge.eval()


def load_or_train_judge(images, labels, args):
    """The judge from --out/judge-<epochs>ep-seed<seed>.pt when an earlier run saved it, else trained and saved."""
    import torch

    cached = args.out / f"judge-{args.judge_epochs}ep-seed{args.seed}.pt"
    if cached.exists():
        judge = build_judge()
        judge.load_state_dict(torch.load(cached, weights_only=True))
        log(f"judge loaded from {cached}")
        return judge.eval()
    judge = train_judge(images, labels, args.judge_epochs, args.seed)
    cached.parent.mkdir(parents=True, exist_ok=True)
    torch.save(judge.state_dict(), cached)
    return judge


def judge_features_and_predictions(judge, grey28: np.ndarray):
    import torch

    feats, preds = [], []
    with torch.no_grad():
        for start in range(0, len(grey28), 1000):
            h = judge[:-1](_judge_input(grey28[start : start + 1000]))
            feats.append(h.numpy())
            preds.append(judge[-1](h).argmax(1).numpy())
    return np.concatenate(feats).astype(np.float64), np.concatenate(preds)


# --------------------------------------------------------------------------- the baseline it replaces


def _deadline(minutes: float, cpu_minutes: float | None):
    """A function that says whether the budget is spent: CPU time of this process, or wall clock."""
    if cpu_minutes is not None:
        end = time.process_time() + 60 * cpu_minutes
        return lambda: time.process_time() >= end
    end = time.monotonic() + 60 * minutes
    return lambda: time.monotonic() >= end


def train_baseline(train28: np.ndarray, minutes: float, seed: int, device, cpu_minutes: float | None = None):
    """The seed design: unconditional fully connected GAN, G 100-256-512-1024-784 with batch norm,
    D 784-512-256-1, Adam, binary cross-entropy."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    G = nn.Sequential(
        nn.Linear(100, 256), nn.BatchNorm1d(256), nn.LeakyReLU(0.2),
        nn.Linear(256, 512), nn.BatchNorm1d(512), nn.LeakyReLU(0.2),
        nn.Linear(512, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(0.2),
        nn.Linear(1024, 784), nn.Tanh(),
    ).to(device)
    D = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1)).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    data = torch.from_numpy(train28.reshape(len(train28), -1)).float().div(127.5).sub(1).to(device)
    batch, steps, started, cpu_started = 64, 0, time.perf_counter(), time.process_time()
    ones, zeros = torch.ones(batch, 1, device=device), torch.zeros(batch, 1, device=device)
    spent = _deadline(minutes, cpu_minutes)
    while not spent():
        real = data[torch.randint(len(data), (batch,), device=device)]
        fake = G(torch.randn(batch, 100, device=device))
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(D(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        steps += 1
        if steps % 500 == 0:
            log(f"baseline step {steps}: D {loss_d.item():.3f} G {loss_g.item():.3f}")
    seconds = time.perf_counter() - started
    G.eval()

    def sample(n: int, seed: int) -> np.ndarray:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            out = G(torch.randn(n, 100, generator=gen).to(device)).cpu()
        return ((out + 1) * 127.5).round().clamp(0, 255).byte().view(n, 28, 28).numpy()

    return sample, {"steps": steps, "seconds": round(seconds, 1), "cpu_seconds": round(time.process_time() - cpu_started, 1),
                    "images_per_s": round(steps * batch / seconds, 1)}


# --------------------------------------------------------------------------- trendgan


def config_with(name: str, overrides: list[str]):
    """The named config with ``FIELD=VALUE`` overrides (VALUE read as JSON, else as a string)."""
    from trendgan.gan.config import load_config, replace

    changes = {}
    for item in overrides:
        key, _, value = item.partition("=")
        try:
            changes[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            changes[key.strip()] = value
    return replace(load_config(name), **changes) if changes else load_config(name)


def style_centroids(vectors: np.ndarray, labels: np.ndarray, how: str, k: int, seed: int) -> tuple[np.ndarray, dict]:
    """Each training image's style centroid (N, D) and what stands in for the styles: the mean vector of its k-means
    cluster (``kmeans``, as the product's styles stage clusters its embeddings) or of its class (``labels``)."""
    if how == "labels":
        groups = labels.astype(np.int64)
    else:
        from sklearn.cluster import KMeans

        groups = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors)
    means = np.stack([vectors[groups == g].mean(axis=0) for g in range(groups.max() + 1)])
    purity = [np.bincount(labels[groups == g], minlength=10).max() / max((groups == g).sum(), 1)
              for g in range(groups.max() + 1)]
    info = {"centroids": how, "groups": int(groups.max() + 1), "mean_group_purity": round(float(np.mean(purity)), 3)}
    return means[groups].astype(np.float32), info


def train_trendgan(images, conditions, config, minutes: float, seed: int, device, steps=None, cpu_minutes=None,
                   encoder_key: str = "pca-stand-in", centroids=None):
    from trendgan.gan.config import load_config
    from trendgan.gan.sampling import Renderer
    from trendgan.gan.trainer import GanTrainer, LoopHooks, train_loop

    trainer = GanTrainer(config, cond_dim=conditions.shape[1], device=device, seed=seed)
    if device.type == "cuda":
        images, conditions = images.to(device), conditions.to(device)
        centroids = centroids.to(device) if centroids is not None else None
    hooks = LoopHooks(log=lambda t, r: log(f"trendgan step {t.step}: D {r['loss_d']:.3f} G {r['loss_g']:.3f} "
                                             f"{r['images_per_s']:.0f} images/s") if t.step % 100 == 0 else None)
    cpu_started = time.process_time()
    budget = {"minutes": None} if steps else ({"cpu_minutes": cpu_minutes} if cpu_minutes else {"minutes": minutes})
    summary = train_loop(trainer, images, conditions, until_step=steps, hooks=hooks, centroids=centroids, **budget)
    cpu_seconds = time.process_time() - cpu_started
    trainer.refresh_ema_statistics(conditions, batches=16)
    renderer = Renderer(generator=trainer.ema, z_dim=trainer.config.z_dim, cond_dim=trainer.cond_dim,
                        image_size=trainer.config.image_size, encoder_key=encoder_key, device=trainer.device,
                        step=trainer.step, config=trainer.config.to_dict())
    changed = {k: v for k, v in trainer.config.to_dict().items() if load_config(trainer.config.name).to_dict().get(k) != v}
    return renderer, {"config": trainer.config.name, "config_changes": changed, "steps": trainer.step, "seconds": round(summary["seconds"], 1),
                      "cpu_seconds": round(cpu_seconds, 1), "images_per_s": round(summary["images_per_s"], 1)}


def score_renders(renderer, judge, train_x, train_vectors, train_y, picks, centroids, test_x, test_y, test_features,
                  truncation: float, args) -> dict:
    """trendgan's figures at one truncation psi: FD / precision / recall / IS of renders conditioned on training
    images' own vectors (and the judge's accuracy on them against each image's class), conditional accuracy
    (overall and per class), FD and diversity of centroid renders, and the same for member renders."""
    from trendgan.gan.metrics import frechet_distance

    fakes = from_gan_images(renderer.render(train_vectors[picks], seed=args.seed + 1, truncation=truncation))
    info = {"truncation": truncation, **judge_scores(judge, fakes, test_features)}
    # A render of one real training image's vector, judged against that image's class: how well the generator
    # draws a class where its images are, beside the centroid renders below.
    info["own_vector_accuracy"] = round(float((judge_features_and_predictions(judge, fakes)[1] ==
                                               train_y[picks]).mean()), 4)
    renders = from_gan_images(renderer.render(centroids, seed=args.seed + 2, per_condition=args.per_class,
                                              truncation=truncation))
    render_features, predicted = judge_features_and_predictions(judge, renders)
    truth = np.repeat(np.arange(10), args.per_class)
    info["conditional_accuracy"], info["conditional_accuracy_per_class"] = class_accuracy(predicted, truth)
    info["centroid_renders_called"] = misses_called(predicted, truth)  # the look-alikes a centroid drifts to
    # The FD above conditions on 5,000 training images' own vectors, each close to one image; this one draws the
    # renders from only the 10 class centroids, so the spread within a class comes from z alone.
    info["frechet_distance_centroid_renders"] = round(frechet_distance(render_features, test_features), 3)
    info.update(class_diversity(judge, renders, truth, test_x, test_y, args.per_class, args.seed))
    info["grid"] = save_class_grid(renders, args, "trendgan", truncation)
    info["member_renders"] = score_member_renders(renderer, judge, train_x, train_vectors, train_y, test_x, test_y,
                                                  test_features, truncation, args)
    return info


def score_member_renders(renderer, judge, train_x, train_vectors, train_y, test_x, test_y, test_features,
                         truncation: float, args) -> dict:
    """The figures of the centroid renders for renders at each class's members instead (what rendering a style at
    its members would do; ``trendgan render`` keeps the centroid), for each k of --member-k: per class, k conditions from
    ``trendgan.gan.renders.member_conditions`` on the class's training vectors (k-means sub-centres inside the class,
    the training image nearest each), cycled to --per-class renders with the same z as the centroid renders. The
    classes stand in for styles that recover them exactly, an upper bound the product's clustered styles do not
    have. ``member_images_judge_accuracy``: the judge on the real training images whose vectors are the conditions
    (what a render that reproduced its member would score)."""
    from trendgan.gan.metrics import frechet_distance
    from trendgan.gan.renders import member_conditions

    out = {}
    for k in args.member_k or [args.per_class]:
        conditions, images = [], []
        for c in range(10):
            mine = np.flatnonzero(train_y == c)
            picked = member_conditions(train_vectors[mine], k, seed=args.seed + c)[np.resize(np.arange(k), args.per_class)]
            conditions.append(picked)
            units = train_vectors[mine] / np.linalg.norm(train_vectors[mine], axis=1, keepdims=True)
            images.append(train_x[mine[np.argmax(picked @ units.T, axis=1)]])  # the member each condition is
        renders = from_gan_images(renderer.render(np.concatenate(conditions).astype(np.float32), seed=args.seed + 2,
                                                  truncation=truncation))
        features, predicted = judge_features_and_predictions(judge, renders)
        truth = np.repeat(np.arange(10), args.per_class)
        real_predicted = judge_features_and_predictions(judge, np.concatenate(images))[1]
        info = {"members_per_class": k}
        info["conditional_accuracy"], info["conditional_accuracy_per_class"] = class_accuracy(predicted, truth)
        info["member_images_judge_accuracy"], info["member_images_judge_accuracy_per_class"] = \
            class_accuracy(real_predicted, truth)
        info["renders_called"] = misses_called(predicted, truth)
        info["frechet_distance"] = round(frechet_distance(features, test_features), 3)
        info.update(class_diversity(judge, renders, truth, test_x, test_y, args.per_class, args.seed))
        info["grid"] = save_class_grid(renders, args, f"trendgan-members{k}", truncation)
        out[str(k)] = info
    return out


def class_accuracy(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, dict]:
    """The judge's accuracy overall and per class."""
    return (round(float((predicted == truth).mean()), 4),
            {CLASSES[c]: round(float((predicted[truth == c] == c).mean()), 3) for c in range(10)})


def misses_called(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """Per class, what its misses were called and how often."""
    return {CLASSES[c]: {CLASSES[k]: int(n) for k, n in enumerate(np.bincount(predicted[truth == c], minlength=10))
                         if n and k != c} for c in range(10)}


def save_class_grid(renders: np.ndarray, args, name: str, truncation: float) -> str:
    """One column per class, 10 of its ``args.per_class`` consecutive renders each; "-psi<psi>" in the file name
    when truncated."""
    grid = renders.reshape(10, args.per_class, 28, 28)[:, :10].transpose(1, 0, 2, 3).reshape(-1, 28, 28)
    suffix = "" if truncation == 1.0 else f"-psi{truncation:g}"
    return save_grid(grid, args.out / f"{name}{suffix}.png")


def save_generator(renderer, config, path: Path) -> None:
    """The EMA generator in the checkpoint layout ``Renderer.from_checkpoint`` reads (no discriminator, no optimiser)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": config.to_dict(), "cond_dim": renderer.cond_dim, "ema": renderer.generator.state_dict(),
                "step": renderer.step, "encoder_key": renderer.encoder_key}, path)


def condition_separability(vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> dict:
    """Are the classes' conditions apart? Per class: the share of its training vectors nearest (cosine) to its own
    class centroid, the class whose centroid is nearest its own and that cosine (1: the two centroids coincide)."""
    units = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    nearest = np.argmax(vectors @ units.T, axis=1)
    cosine = units @ units.T
    np.fill_diagonal(cosine, -np.inf)
    per = {CLASSES[c]: {"nearest_centroid_accuracy": round(float((nearest[labels == c] == c).mean()), 3),
                        "nearest_other_centroid": CLASSES[int(cosine[c].argmax())],
                        "cosine_to_it": round(float(cosine[c].max()), 3)} for c in range(10)}
    return {"nearest_centroid_accuracy": round(float((nearest == labels).mean()), 4), "per_class": per}


def centroid_neighbour_purity(vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray, k: int) -> dict:
    """Share of the k training images nearest each class centroid (by the encoder's vectors) that are of that class.

    How mixed the condition space is around each centroid, measured without the judge: in a pixel PCA the centroids
    of Shirt, Pullover, Coat and Sandal sit among other classes' images. It is not a bound on conditional_accuracy:
    a render at the centroid is one garment, not a draw from the centroid's neighbours.
    """
    units = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    purity = {}
    for c, centre in enumerate(units):
        nearest = np.argsort(((vectors - centre) ** 2).sum(axis=1))[:k]
        purity[CLASSES[c]] = round(float((labels[nearest] == c).mean()), 3)
    return {"mean": round(float(np.mean(list(purity.values()))), 4), "per_class": purity}


class JudgeFeatures:
    """The Fashion-MNIST judge behind the ``features`` call ``trendgan.gan.judge``'s diversity functions make."""

    def __init__(self, judge):
        self.judge = judge

    def features(self, grey28: np.ndarray) -> np.ndarray:
        return judge_features_and_predictions(self.judge, grey28)[0]


def class_diversity(judge, renders, render_labels, real, real_labels, per_class: int, seed: int) -> dict:
    """Per class: mean pairwise judge-feature distance of renders, of as many real test images of the class, and
    their ratio (0: one garment repeated, whatever z; 1: as varied as the real class); computed by
    ``trendgan.gan.judge.diversity_scores`` on the grey 28 px images."""
    from trendgan.gan.judge import diversity_scores

    names = np.asarray(CLASSES, dtype=object)
    scores = diversity_scores(JudgeFeatures(judge), real, names[real_labels], renders, names[render_labels],
                              per_class=per_class, seed=seed)
    per = {c: {"renders": round(scores["diversity_renders"][c], 3), "real": round(scores["diversity_real"][c], 3),
               "ratio": round(scores["diversity_ratio_per_class"][c], 3)} for c in CLASSES}
    return {"diversity_ratio": round(float(scores["diversity_ratio"]), 4), "diversity_per_class": per}


def judge_scores(judge, fakes: np.ndarray, test_features: np.ndarray) -> dict:
    """Frechet distance, precision (fidelity) / recall (coverage) and the Inception Score, in the judge's space."""
    from trendgan.gan.judge import inception_score
    from trendgan.gan.metrics import frechet_distance, precision_recall

    features = judge_features_and_predictions(judge, fakes)[0]
    pr = precision_recall(test_features, features)
    return {"frechet_distance": round(frechet_distance(features, test_features), 3),
            "precision": round(pr["precision"], 4), "recall": round(pr["recall"], 4),
            "inception_score": round(inception_score(judge_probabilities(judge, features)), 3)}


def judge_probabilities(judge, features: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.softmax(judge[-1](torch.from_numpy(features).float()), dim=1).double().numpy()


def save_grid(images: np.ndarray, path: Path, columns: int = 10) -> str:
    from PIL import Image

    from trendgan.gan.sampling import image_grid

    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=3)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image_grid(images, columns=columns)).save(path)
    return str(path)


# --------------------------------------------------------------------------- runs


def run_fashion_mnist(args, device) -> dict:
    from trendgan.gan.metrics import frechet_distance

    train_x, train_y, test_x, test_y = load_fashion_mnist(args.data_dir / "fashion-mnist")
    started = time.perf_counter()
    judge = load_or_train_judge(train_x, train_y, args)
    test_features, test_pred = judge_features_and_predictions(judge, test_x)
    judge_accuracy = float((test_pred == test_y).mean())
    log(f"judge accuracy on the test split: {judge_accuracy:.4f} ({time.perf_counter() - started:.0f}s)")
    # The ceiling reference for conditional_accuracy_per_class: how often the judge is right on real images of a class.
    judge_per_class = {CLASSES[c]: round(float((test_pred[test_y == c] == c).mean()), 3) for c in range(10)}

    subset = training_subset(len(train_x), args.train_subset, args.seed)
    pca_vectors = stand_in_encoder(train_x[subset], args.pca_dims, args.seed)(train_x[subset])
    if args.encoder == "effnet":
        train_vectors = effnet_encoder_vectors(train_x, subset, args.embed_cache or args.out / "effnet-cache", args.seed)
    else:
        train_vectors = pca_vectors
    # From here on the GANs see only the subset (all 60,000 by default); the judge above saw every training image.
    train_x, train_y = train_x[subset], train_y[subset]
    rng = np.random.default_rng(args.seed)
    from trendgan.gan.judge import inception_score

    result = {"benchmark": "gan_fmnist", "device": device.type,
              "budget_per_model": ({"cpu_minutes": args.cpu_minutes} if args.cpu_minutes else {"minutes": args.minutes}),
              "judge": "fmnist-cnn: 2 conv layers + 64-d features, trained on the 60,000 training images' classes",
              "judge_test_accuracy": round(judge_accuracy, 4), "judge_test_accuracy_per_class": judge_per_class,
              "n_eval": args.n_eval,
              "encoder": ENCODER_KEYS[args.encoder] if args.encoder == "effnet" else f"pca-{args.pca_dims} of the pixels",
              "gan_training_images": len(subset),
              "inception_score_real": round(inception_score(judge_probabilities(judge, test_features)), 3),
              "load_average_start": [round(v, 2) for v in os.getloadavg()],
              "fd_real_train_vs_test": round(frechet_distance(
                  judge_features_and_predictions(judge, train_x[rng.permutation(len(train_x))[: args.n_eval]])[0],
                  test_features), 3)}

    import torch

    centroids = np.stack([train_vectors[train_y == c].mean(axis=0) for c in range(10)])
    result["centroid_neighbour_purity"] = centroid_neighbour_purity(train_vectors, train_y, centroids, args.per_class)
    result["condition_separability"] = condition_separability(train_vectors, train_y, centroids)
    if args.encoder != "pca":  # the stand-in's figure on the same images, to compare the two condition spaces
        pca_centroids = np.stack([pca_vectors[train_y == c].mean(axis=0) for c in range(10)])
        result["centroid_neighbour_purity_pca"] = centroid_neighbour_purity(pca_vectors, train_y, pca_centroids,
                                                                            args.per_class)
    if not args.skip_trendgan:
        config = config_with(args.config, args.overrides)
        log(f"training trendgan {args.config} {args.overrides or ''} for {result['budget_per_model']}")
        style_centres = None  # each training image's style centroid (``centroids`` below are the classes')
        if config.cond_centroid > 0:
            per_image, result["style_centroids"] = style_centroids(train_vectors, train_y, args.centroids,
                                                                   args.centroid_k, args.seed)
            style_centres = torch.from_numpy(per_image)
        if args.load_generator:
            from trendgan.gan.sampling import Renderer

            renderer = Renderer.from_checkpoint(args.load_generator)
            info = {"loaded": str(args.load_generator), "steps": renderer.step, "config": renderer.config.get("name")}
        else:
            renderer, info = train_trendgan(to_gan_images(train_x), torch.from_numpy(train_vectors), config,
                                            args.minutes, args.seed, device, steps=args.steps,
                                            cpu_minutes=args.cpu_minutes, encoder_key=ENCODER_KEYS[args.encoder],
                                            centroids=style_centres)
            if args.save_generator:
                save_generator(renderer, config, args.save_generator)
        picks = rng.choice(len(train_vectors), size=args.n_eval, replace=False)
        own = renderer.truncation
        psis = [float(v) for v in args.truncation.split(",")] if args.truncation else list(dict.fromkeys([own, 1.0]))
        for i, psi in enumerate(psis):
            scores = score_renders(renderer, judge, train_x, train_vectors, train_y, picks, centroids, test_x, test_y,
                                   test_features, psi, args)
            if i == 0:
                info.update(scores)  # the first psi's figures stay where earlier runs had them
            else:
                info.setdefault("truncated", {})[str(psi)] = scores
        result["trendgan"] = info
        log(f"trendgan: FD {info['frechet_distance']}, conditional accuracy {info['conditional_accuracy']}, "
            f"diversity ratio {info['diversity_ratio']}; member renders (k: accuracy, diversity ratio): "
            f"{ {k: (m['conditional_accuracy'], m['diversity_ratio']) for k, m in info['member_renders'].items()} }")

    if not args.skip_baseline:
        log(f"training the fully connected baseline for {result['budget_per_model']}")
        sample, base = train_baseline(train_x, args.minutes, args.seed, device, cpu_minutes=args.cpu_minutes)
        fakes = sample(args.n_eval, args.seed + 1)
        base.update(judge_scores(judge, fakes, test_features))
        base["grid"] = save_grid(fakes[:100], args.out / "baseline.png")
        result["baseline_fc_gan"] = base
        log(f"baseline: FD {base['frechet_distance']}")
    if "trendgan" in result and "baseline_fc_gan" in result:
        info, base = result["trendgan"], result["baseline_fc_gan"]
        result["fd_ratio_trendgan_to_baseline"] = round(info["frechet_distance"] / max(base["frechet_distance"], 1e-9), 4)
        result["targets_met"] = {"conditional_accuracy_ge_0.90": info["conditional_accuracy"] >= 0.90,
                                 "fd_at_most_half_baseline": result["fd_ratio_trendgan_to_baseline"] <= 0.5}
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    return result


def run_products(args, device) -> dict:
    """GPU speed run: the 64 px config on the catalogue photos, conditioned on a PCA of the pixels."""
    import torch

    from trendgan.gan.config import load_config
    from trendgan.gan.metrics import frechet_distance

    size = load_config(args.config).image_size
    photos = load_products(args.data_dir / "fashion-product-9k", size, args.max_photos)
    encode = stand_in_encoder(photos[:, ::4, ::4], args.pca_dims, args.seed)
    vectors = encode(photos[:, ::4, ::4])
    images = torch.from_numpy(photos).permute(0, 3, 1, 2).contiguous()
    log(f"training trendgan {args.config} on {len(photos)} photos for {args.minutes} min on {device}")
    renderer, info = train_trendgan(images, torch.from_numpy(vectors), args.config, args.minutes, args.seed, device,
                                    steps=args.steps)
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(vectors), size=min(args.n_eval, len(vectors)), replace=False)
    fakes = renderer.render(vectors[picks], seed=args.seed + 1)
    info["frechet_distance_pca_space"] = round(frechet_distance(encode(fakes[:, ::4, ::4]), vectors[picks]), 4)
    info["grid"] = save_grid(fakes[:64], args.out / "trendgan-products.png", columns=8)
    return {"benchmark": "gan_fmnist", "data": "fashion-product-9k", "device": device.type,
            "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None, "photos": len(photos),
            "minutes": args.minutes, "trendgan": info}


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch

    from trendgan.devices import free_cpus, pick_device

    torch.set_num_threads(args.threads or free_cpus())
    device = pick_device(args.device)
    if args.embed_only:
        train_x = load_fashion_mnist(args.data_dir / "fashion-mnist")[0]
        indices = training_subset(len(train_x), args.train_subset, args.seed)
        vectors = effnet_encoder_vectors(train_x, indices, args.embed_cache or args.out / "effnet-cache", args.seed)
        print(json.dumps({"embedded": len(vectors), "dim": vectors.shape[1]}))
        return
    started = time.perf_counter()
    result = run_products(args, device) if args.data == "products" else run_fashion_mnist(args, device)
    result["threads"] = torch.get_num_threads()
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
