"""Target resolution, in one place: what a person typed after ``--to`` becomes a vector in the encoder's space.

A style id or style name (from the latest styles run) -> the style's centroid; an image path -> its embedding;
anything else -> a text prompt, which needs an encoder with a text tower (CLIP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trendgan.design.images import looks_like_image_path, open_image
from trendgan.design.vectors import normalise
from trendgan.errors import DesignError, StageNotRunError
from trendgan.runs import StylesRun
from trendgan.store import Store

TEXT_NEEDS_CLIP = "text targets need an encoder with a text tower (CLIP); use a style name or an image instead"


@dataclass
class Target:
    """Where a restyle should go: its kind, a label for people, and its unit vector in the encoder's space."""

    kind: str  # style | image | text
    label: str
    vector: np.ndarray
    style_id: int | None = None
    path: str | None = None
    example_paths: list[str] = field(default_factory=list)  # images that show the look (style transfer needs one)

    def describe(self) -> dict:
        info = {"kind": self.kind, "label": self.label}
        if self.style_id is not None:
            info["style_id"] = self.style_id
        if self.path is not None:
            info["path"] = self.path
        return info


@dataclass
class StylesTable:
    run: str
    folder: Path
    frame: object  # pandas DataFrame: style_id, name, centroid, representative_paths...
    encoder_key: str | None


def load_styles_table(store: Store, run: str | None = None) -> StylesTable:
    """The styles of a run (latest by default) with the key of the encoder their centroids live in."""
    styles_run = StylesRun.open(store, run)
    return StylesTable(run=styles_run.name, folder=styles_run.folder, frame=styles_run.styles,
                       encoder_key=styles_run.encoder)


def resolve_target(store: Store, to: str, encoder, encoder_key: str | None = None, styles_run: str | None = None) -> Target:
    """Turn ``--to`` into a Target; ``encoder`` embeds images and texts, ``encoder_key`` names its space."""
    text = str(to).strip()
    if not text:
        raise DesignError("--to is empty; give a style id or name, an image path, or a text prompt")
    if Path(text).expanduser().is_file() or looks_like_image_path(text):
        return image_target(text, encoder)
    styles = _styles_or_none(store, styles_run)
    if text.lstrip("-").isdigit():
        if styles is None:
            raise DesignError(f"--to {text} looks like a style id but the store has no styles run yet; run `trendgan styles` first")
        return style_target(styles, style_id=int(text), encoder_key=encoder_key)
    if styles is not None and _find_style_by_name(styles, text) is not None:
        return style_target(styles, name=text, encoder_key=encoder_key)
    return text_target(text, encoder, known_styles=styles)


def image_target(path: str, encoder) -> Target:
    image = open_image(path)
    vector = normalise(encoder.embed_images([image])[0])
    return Target(kind="image", label=Path(path).name, vector=vector, path=str(path), example_paths=[str(path)])


def text_target(text: str, encoder, known_styles: StylesTable | None = None) -> Target:
    if not getattr(encoder, "has_text", False):
        hint = ""
        if known_styles is not None:
            names = ", ".join(repr(str(n)) for n in list(known_styles.frame["name"])[:6])
            hint = f" ({text!r} is not a style name in styles run {known_styles.run}; styles: {names})"
        raise DesignError(TEXT_NEEDS_CLIP + hint)
    vector = normalise(encoder.embed_texts([text])[0])
    return Target(kind="text", label=text, vector=vector)


def style_target(styles: StylesTable, style_id: int | None = None, name: str | None = None, encoder_key: str | None = None) -> Target:
    frame = styles.frame
    if style_id is not None:
        rows = frame[frame["style_id"].astype(int) == style_id]
        if rows.empty:
            known = ", ".join(str(int(s)) for s in frame["style_id"])
            raise DesignError(f"no style {style_id} in styles run {styles.run}; known style ids: {known}")
        row = rows.iloc[0]
    else:
        row = _find_style_by_name(styles, name)
    check_same_space(styles.encoder_key, encoder_key, f"styles run {styles.run}")
    paths = row["representative_paths"] if "representative_paths" in row.index else None
    examples = [str(p) for p in (list(paths) if paths is not None else [])]
    return Target(
        kind="style",
        label=str(row["name"]),
        vector=normalise(np.asarray(row["centroid"], dtype=np.float32)),
        style_id=int(row["style_id"]),
        example_paths=examples,
    )


def check_same_space(theirs: str | None, ours: str | None, what: str) -> None:
    """Vectors from two encoders are not comparable; say so instead of rendering nonsense."""
    if theirs and ours and theirs != ours:
        raise DesignError(
            f"{what} was made with encoder {theirs!r} but the generator uses {ours!r}; "
            f"re-run `trendgan styles` on {ours!r} embeddings or train the GAN on {theirs!r}"
        )


def _find_style_by_name(styles: StylesTable, name: str):
    wanted = name.strip().casefold()
    for _, row in styles.frame.iterrows():
        if str(row["name"]).strip().casefold() == wanted:
            return row
    return None


def _styles_or_none(store: Store, run: str | None) -> StylesTable | None:
    try:
        return load_styles_table(store, run)
    except StageNotRunError:
        if run:
            raise
        return None
