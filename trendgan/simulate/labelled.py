"""Labelled image sets a scenario can draw from: Fashion-MNIST IDX files, or a folder of images with a CSV of labels.

Both readers return lightweight items: an image is only decoded when the simulator writes it.
"""

from __future__ import annotations

import csv
import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trendgan.errors import IngestError

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzip or plain): a big-endian header of magic, dimension sizes, then uint8 values."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise IngestError(f"IDX file not found: {path}") from None
    except (OSError, EOFError) as exc:
        raise IngestError(f"cannot read the IDX file {path} ({exc}); is it a complete download?") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise IngestError(f"{path} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != 0x08:
        raise IngestError(f"{path}: only unsigned-byte IDX files are supported (type code {dtype_code:#x})")
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise IngestError(f"{path} is truncated: header promises {expected} values, file holds {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_fashion_mnist(folder: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from its four IDX gzip files: ``(images (N, 28, 28) uint8, labels (N,) int)``.

    ``split`` is "train" (60,000), "test" (10,000) or "all" (both).
    """
    folder = Path(folder)
    if split == "all":
        parts = [read_fashion_mnist(folder, s) for s in ("train", "test")]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    if split not in _FASHION_MNIST_FILES:
        raise IngestError(f"Fashion-MNIST split {split!r} is not one of train, test, all")
    image_file, label_file = (folder / name for name in _FASHION_MNIST_FILES[split])
    if not image_file.exists():
        raise IngestError(
            f"no Fashion-MNIST files in {folder} (looked for {image_file.name}); point the scenario's "
            "[images] path (or --data) at the folder holding the four *-ubyte.gz files"
        )
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IngestError(f"{folder}: the image and label IDX files of the {split} split do not match")
    return images, labels.astype(int)


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    label: str


def read_labelled_folder(
    folder: str | Path,
    csv_name: str = "labels.csv",
    image_column: str | None = "image",
    label_column: str = "label",
    id_column: str | None = None,
    image_template: str | None = None,
    where: dict[str, str] | None = None,
) -> tuple[list[LabelledPhoto], int]:
    """Photos and their labels from a folder and a CSV, as ``(photos, missing)``.

    Each row names its image either in ``image_column`` (a path relative to the folder) or through
    ``image_template`` filled from ``id_column`` (e.g. ``"images/{id}.jpg"``). ``where`` keeps rows whose columns
    equal the given values (e.g. ``{"masterCategory": "Apparel"}``). Rows whose image file is absent are skipped
    and counted in ``missing``; rows with an empty label are skipped.
    """
    folder = Path(folder)
    table = folder / csv_name
    if not table.is_file():
        raise IngestError(f"label file {table} not found; set [images] csv to the CSV beside the photos")
    try:
        with open(table, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            needed = [label_column] + ([image_column] if image_template is None else [id_column])
            absent = [c for c in needed if c not in columns]
            if absent:
                raise IngestError(f"{table} has no column {', '.join(map(repr, absent))}; its columns are {', '.join(columns)}")
            bad_filter = [c for c in (where or {}) if c not in columns]
            if bad_filter:
                raise IngestError(f"[images] where names column(s) {', '.join(bad_filter)} that {table} does not have")
            photos, missing = [], 0
            for row in reader:
                if any(str(row.get(k, "")) != str(v) for k, v in (where or {}).items()):
                    continue
                label = (row.get(label_column) or "").strip()
                if not label:
                    continue
                name = image_template.format(**{id_column: row[id_column], "id": row[id_column]}) if image_template else row[image_column]
                path = folder / name
                if not path.is_file():
                    missing += 1
                    continue
                photos.append(LabelledPhoto(path, label))
    except UnicodeDecodeError:
        raise IngestError(f"{table} is not UTF-8 text; save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise IngestError(f"{table} is not a readable CSV ({exc})") from None
    return photos, missing
