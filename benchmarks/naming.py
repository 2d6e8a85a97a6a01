"""How often a style's name names its garment, on real catalogue photos; prints one JSON object.

The fashion-product-9k photos (../shared/data) are ingested into a store (dated by catalogue season and year,
without captions), embedded with effnet-lite0 (no text tower) and clustered by the styles stage with its defaults
(k chosen by silhouette). Each style's name is then checked against the articleType most of its images have: the
name counts as right when it contains that type or one of its synonyms (benchmarks/naming_synonyms.json, whole
words, case-insensitive). The store is built once under --store and reused (embedding 7,667 photos takes minutes).

Reported: the share of styles named right (``name_hit_rate``, the target is >= 0.70), the same weighted by style
size, how many names carry a garment at all, and every style's name beside its majority type and purity; and how
often a style's colour word is in the colour family most of its images carry by the catalogue's baseColour
(``colour_hit_rate``; "mixed-colour" is right where no family holds half of them).

``--calibrate`` prints instead how the image-only garment rule (``confident_garment``) was chosen: right and
wrong names over groups of 8 labelled images (a style's representatives) of the simulator's garments and of
Fashion-MNIST, for a grid of thresholds. The catalogue is not used, so its score cannot steer the rule.

``--captions`` adds a second figure for context: names built again with each image's productDisplayName as its
post caption (catalogue titles usually end in the article type, so this is an easy case, not the target).

    python benchmarks/naming.py                                 # store in /tmp/trendgan-naming-bench
    python benchmarks/naming.py --store /tmp/report/catalogue-store --captions
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path(os.environ.get("TRENDGAN_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
SEASON_MONTH = {"Winter": 1, "Spring": 4, "Summer": 7, "Fall": 10}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--store", type=Path, default=Path("/tmp/trendgan-naming-bench"))
    parser.add_argument("--k", default="auto", help="number of styles, or auto (the stage's default)")
    parser.add_argument("--captions", action="store_true", help="also name with productDisplayName as captions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibrate", action="store_true",
                        help="instead: score the classifier's confidence rule on simulated garments and Fashion-MNIST")
    return parser.parse_args(argv)


def catalogue(data: Path):
    import pandas as pd

    folder = data / "fashion-product-9k"
    if not (folder / "styles.csv").is_file():
        raise SystemExit(f"no fashion-product-9k in {data}: see ../shared/data/README.md")
    table = pd.read_csv(folder / "styles.csv")
    table["path"] = [str((folder / p).resolve()) for p in table["image"]]
    return table[[Path(p).is_file() for p in table["path"]]].reset_index(drop=True)


def build_store(args, table):
    """Ingest (with a manifest of dates, no captions) and embed once; later runs reuse the store."""
    from trendgan.embed import embed
    from trendgan.ingest import ingest
    from trendgan.store import Store

    store = Store(args.store)
    if not store.exists():
        args.store.mkdir(parents=True, exist_ok=True)
        manifest = args.store / "catalogue-manifest.csv"
        with manifest.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "date", "source", "caption", "likes"])
            for row in table.itertuples():
                year = int(row.year) if row.year == row.year else 2012
                month = SEASON_MONTH.get(row.season, 6) if isinstance(row.season, str) else 6
                writer.writerow([row.path, f"{year}-{month:02d}-15", "catalogue", "", 0])
        log(f"ingesting {len(table):,} photos into {store.root}")
        ingest([str(Path(table['path'][0]).parent)], store=store, manifest=manifest, near_duplicate_distance=-1)
    log("embedding with effnet-lite0 (skips what is done)")
    embed(store, encoder="effnet-lite0", device="cpu")
    return store


def scratch_copy(store):
    """A fresh store sharing the cached catalog and vectors: no earlier styles run whose ids (and names, which stay
    with unchanged styles) this run would inherit."""
    import shutil
    import tempfile

    from trendgan.store import Store

    root = Path(tempfile.mkdtemp(prefix="trendgan-naming-"))
    shutil.copy2(store.root / "catalog.duckdb", root / "catalog.duckdb")
    (root / "embeddings").symlink_to(store.root / "embeddings", target_is_directory=True)
    return Store(root)


def name_hits(names, majority, synonyms) -> list[bool]:
    hits = []
    for name, article in zip(names, majority):
        words = [article.lower(), article.lower().rstrip("s")] + [w.lower() for w in synonyms.get(article, [])]
        text = str(name).lower()
        hits.append(any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", text) for w in words))
    return hits


# The catalogue's baseColour words and the palette's colour words, in the coarse families a buyer tells apart: a
# named colour is right when it is in the family of the colour most of the style's images carry.
COLOUR_FAMILIES = {
    "black": ["black", "charcoal"], "white": ["white", "cream", "off white"],
    "grey": ["grey", "light grey", "silver", "steel", "grey melange", "metallic"],
    "blue": ["blue", "light blue", "navy", "navy blue", "teal", "turquoise blue"],
    "brown": ["brown", "dark brown", "tan", "beige", "khaki", "coffee brown", "taupe", "bronze", "copper", "nude"],
    "red": ["red", "burgundy", "maroon", "rust"], "green": ["green", "olive", "sea green", "fluorescent green"],
    "purple": ["purple", "lavender", "magenta", "mauve"], "pink": ["pink", "hot pink", "peach"],
    "yellow": ["yellow", "mustard", "gold"], "orange": ["orange"],
}
COLOUR_FAMILY = {word: family for family, words in COLOUR_FAMILIES.items() for word in words}


def colour_truth(base_colours) -> str:
    """The colour family at least half of a style's images carry by baseColour, or "mixed" when none does."""
    families = base_colours.str.lower().map(COLOUR_FAMILY).value_counts(normalize=True)
    return families.index[0] if len(families) and families.iloc[0] >= 0.5 else "mixed"


def colour_hits(keywords, truths) -> list[bool]:
    """Per style: its first colour word is in the family its images carry, or it says "mixed-colour" where they
    carry no one family."""
    from trendgan.styles.naming import MIXED_COLOURS, PALETTE

    hits = []
    for words, truth in zip(keywords, truths):
        named = next((w for w in (words if words is not None else []) if w in PALETTE or w == MIXED_COLOURS), None)
        hits.append(named == MIXED_COLOURS if truth == "mixed" else COLOUR_FAMILY.get(named) == truth)
    return hits


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.calibrate:
        print(json.dumps(calibrate(args.data)))
        return
    import numpy as np
    import pandas as pd

    from trendgan.styles import find_styles, load_styles

    synonyms = json.loads((HERE / "naming_synonyms.json").read_text())["synonyms"]
    table = catalogue(args.data)
    store = scratch_copy(build_store(args, table))
    started = time.perf_counter()
    result = find_styles(store, k=args.k, seed=args.seed, map_method="pca")
    seconds = time.perf_counter() - started
    run = load_styles(store, result.run)
    with store.catalog(read_only=True) as db:
        paths = db.execute("SELECT image_id, path FROM images").df()
    article = dict(zip(table["path"], table["articleType"]))
    base_colour = dict(zip(table["path"], table["baseColour"].fillna("")))
    title = dict(zip(table["path"], table["productDisplayName"]))
    assigned = run.assignments.merge(paths, on="image_id")
    assigned["article"] = assigned["path"].map(article)
    assigned["base_colour"] = assigned["path"].map(base_colour)
    styles = run.styles.set_index("style_id")
    rows = []
    for style_id, members in assigned[assigned["style_id"] >= 0].groupby("style_id"):
        counts = members["article"].value_counts()
        rows.append({"style_id": int(style_id), "name": styles.loc[style_id, "name"], "size": int(len(members)),
                     "majority": counts.index[0], "purity": round(float(counts.iloc[0] / len(members)), 3)})
    frame = pd.DataFrame(rows)
    frame["hit"] = name_hits(frame["name"], frame["majority"], synonyms)
    garments = json.loads((Path(__import__("trendgan.styles.naming", fromlist=["x"]).__file__).parent
                           / "garment_words.json").read_text())["garments"]
    frame["colours_are"] = [colour_truth(assigned.loc[assigned["style_id"] == s, "base_colour"])
                            for s in frame["style_id"]]
    frame["colour_hit"] = colour_hits(styles.loc[frame["style_id"], "keywords"], frame["colours_are"])
    frame["has_garment"] = [any(str(k) in garments for k in (kw if kw is not None else []))
                            for kw in styles.loc[frame["style_id"], "keywords"]]
    one_colour = frame["colours_are"] != "mixed"
    out = {
        "images": int(len(assigned)), "styles": int(len(frame)), "k": args.k, "encoder": "effnet-lite0 (no text tower)",
        "naming": result.naming,
        "name_hit_rate": round(float(frame["hit"].mean()), 3),
        "name_hit_rate_by_images": round(float(np.average(frame["hit"], weights=frame["size"])), 3),
        "names_with_a_garment": int(frame["has_garment"].sum()),
        "hit_rate_where_a_garment_is_named": round(float(frame.loc[frame["has_garment"], "hit"].mean()), 3)
        if frame["has_garment"].any() else None,
        "target": 0.70,
        "colour_hit_rate": round(float(frame["colour_hit"].mean()), 3),
        "colour_hits_where_one_colour": f'{int(frame.loc[one_colour, "colour_hit"].sum())}/{int(one_colour.sum())}',
        "mixed_called_mixed": f'{int(frame.loc[~one_colour, "colour_hit"].sum())}/{int((~one_colour).sum())}',
        "styles_seconds": round(seconds, 1),
        "per_style": frame.sort_values("size", ascending=False).to_dict("records"),
    }
    if args.captions:
        out["with_product_titles_as_captions"] = caption_names(run, assigned, title, synonyms, frame)
    print(json.dumps(out, default=str))


def caption_names(run, assigned, title, synonyms, frame) -> dict:
    """Names again, each image's catalogue title standing in for its post caption (an easy case, for context)."""
    from PIL import Image

    from trendgan.embed import get_encoder
    from trendgan.styles.naming import name_styles

    styles = run.styles.set_index("style_id").loc[frame["style_id"]]
    captions = [assigned.loc[assigned["style_id"] == s, "path"].map(title).dropna().tolist() for s in frame["style_id"]]
    images = [[Image.open(p).convert("RGB") for p in paths] for paths in styles["representative_paths"]]
    names = name_styles(images, captions, classify=get_encoder("effnet-lite0").classify)
    hits = name_hits([n.name for n in names], frame["majority"], synonyms)
    return {"name_hit_rate": round(sum(hits) / max(len(hits), 1), 3),
            "names": {int(s): n.name for s, n in zip(frame["style_id"], names)}}


# What a right name is for each calibration class (a family word is right too when the garment is in its family).
SIMULATED_RIGHT = {"tee": {"tee", "top", "vest"}, "dress": {"dress", "gown"}, "skirt": {"skirt"}, "shorts": {"shorts"},
                   "trousers": {"trousers", "jeans", "leggings", "track pants"}, "coat": {"coat", "jacket", "blazer"},
                   "sneaker": {"sneakers", "shoes"}, "bag": {"bag", "backpack", "clutch", "wallet"},
                   "boot": {"boots"}, "hat": {"hat", "cap"}}
FASHION_MNIST_RIGHT = [{"tee", "top", "vest"}, {"trousers", "jeans", "leggings", "track pants"},
                       {"sweater", "sweatshirt", "cardigan", "hoodie"}, {"dress", "gown"}, {"coat", "jacket", "blazer"},
                       {"sandals", "flip flops"}, {"shirt", "blouse"}, {"sneakers", "shoes"},
                       {"bag", "backpack", "wallet", "clutch"}, {"boots"}]


def calibration_groups(data: Path):
    """(right words, ImageNet probabilities of 8 images) per group: 180 simulated (10 garments x 6 colours x 3 prints,
    8 seeds at 128 px) and 180 of Fashion-MNIST (18 random groups per class from its first 200 test images, inverted
    to a white backdrop as product photos have)."""
    import numpy as np
    from PIL import Image

    from trendgan.embed import get_encoder
    from trendgan.simulate.garments import render_garment
    from trendgan.simulate.labelled import read_fashion_mnist

    classify = get_encoder("effnet-lite0").classify
    groups = []
    for garment, right in SIMULATED_RIGHT.items():
        for colour in ("red", "green", "navy", "beige", "black", "pink"):
            for pattern in ("", "striped ", "checked "):
                images = [render_garment(f"{colour} {pattern}{garment}", size=128, seed=s) for s in range(8)]
                groups.append(("simulated", right, classify(images)))
    log(f"calibration: {len(groups)} simulated groups classified")
    pixels, labels = read_fashion_mnist(data / "fashion-mnist", "test")
    rng = np.random.default_rng(0)
    for label, right in enumerate(FASHION_MNIST_RIGHT):
        pool = np.flatnonzero(labels == label)[:200]
        probabilities = classify([Image.fromarray(255 - pixels[i]).convert("RGB") for i in pool])
        for _ in range(18):
            groups.append(("fashion-mnist", right, probabilities[rng.choice(len(pool), 8, replace=False)]))
    return groups


def calibrate(data: Path) -> dict:
    from trendgan.styles.naming import MIN_GARMENT_MARGIN, MIN_GARMENT_PROBABILITY, confident_garment, garment_words

    families = garment_words().get("families", {})
    groups = calibration_groups(data)

    def score(min_probability, min_margin):
        right = wrong = 0
        by_set: dict = {}
        for name, words, probabilities in groups:
            said = confident_garment(probabilities, min_probability, min_margin)
            if said is None:
                continue
            ok = said in words or any(said == f and words & set(members) for f, members in families.items())
            right, wrong = right + ok, wrong + (not ok)
            by_set.setdefault(name, [0, 0])[0 if ok else 1] += 1
        return {"min_probability": min_probability, "min_margin": min_margin, "right": right, "wrong": wrong,
                "right_minus_wrong": right - wrong, "right_wrong_by_set": by_set}

    grid = [score(p, m) for p in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3) for m in (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)]
    best = max(grid, key=lambda row: (row["right_minus_wrong"], -row["wrong"]))
    return {"groups": len(groups), "chosen": score(MIN_GARMENT_PROBABILITY, MIN_GARMENT_MARGIN), "best_on_grid": best,
            "grid": grid}


if __name__ == "__main__":
    main()
