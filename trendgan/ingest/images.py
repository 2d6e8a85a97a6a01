"""Is a file a usable picture? Decode it safely, fingerprint it, and turn any mode into plain RGB.

Every way a scraped file can be bad ends in a ``BadImage`` with a short reason code (the ``rejects`` table's
``reason``) and a detail for people; nothing here lets a bad file crash an ingest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import stat
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from trendgan.ingest.dates import parse_exif_datetime

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".avif", ".bmp", ".tif", ".tiff"})
# Pillow's own bomb limit (about 89 megapixels); a fashion photo is rarely above 50.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
# Files are read whole into memory: a 16-bit TIFF at the pixel limit is about 540 MB, nothing a scraper fetches is
# larger, and a multi-gigabyte (or sparse) file named like an image must not exhaust memory.
MAX_FILE_BYTES = 1 << 30

# Modes whose conversion to RGB we trust. LAB (and anything rarer) would need colour management to look right,
# so such files are rejected with a reason rather than ingested with wrong colours.
_DIRECT_MODES = {"RGB", "L", "1", "CMYK", "YCbCr", "HSV", "RGBX"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA", "P"}
_HIGH_BIT_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
SUPPORTED_MODES = frozenset(_DIRECT_MODES | _ALPHA_MODES | _HIGH_BIT_MODES)

# Reason codes written to the rejects table.
REJECT_REASONS = (
    "empty",  # zero bytes
    "wrong_extension",  # not an image type trendgan reads (.pdf, .mp4, .heic...)
    "not_an_image",  # an image extension, but the bytes are not a picture Pillow knows
    "truncated",  # the file stops part-way (interrupted download)
    "corrupt",  # the data is damaged
    "decompression_bomb",  # claims more pixels than is safe to decode
    "unsupported_mode",  # a colour mode that cannot be turned into RGB faithfully
    "unreadable",  # permissions or I/O errors (files and folders)
    "not_a_regular_file",  # a FIFO, device or socket named like an image: reading it could block forever
    "too_large",  # over MAX_FILE_BYTES
    "outside",  # listed in a manifest but outside the folders given to ingest (--allow-outside reads it)
    "bad_name",  # a file or folder name that is not valid UTF-8
    "absurd_date",  # dated before 1900 or in the future
    "missing",  # listed in a manifest but not on disk
)

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306


class BadImage(OSError):
    """A file that is not a usable image; ``reason`` is one of REJECT_REASONS. An OSError, so code that already
    treats an unreadable file as skippable (``except OSError``) treats a bad image the same way."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail

    def __reduce__(self):  # pickles (process pools) with both parts, not the joined message
        return type(self), (self.reason, self.detail)


@dataclass
class ImageFacts:
    """What ingest keeps about a good image."""

    image_id: str  # sha256 of the bytes
    width: int  # after EXIF rotation: as people see it
    height: int
    phash: str  # 64-bit perceptual hash, 16 hex digits
    exif_taken_at: dt.datetime | None
    format: str
    mode: str
    colour_layout: bytes  # 8x8 RGB thumbnail: the near-duplicate search's colour check


def has_image_extension(name: str) -> bool:
    dot = name.rfind(".")
    return dot >= 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def examine_file(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageFacts:
    """Read, hash, fully decode and fingerprint one file; raise BadImage with the reason when it is unusable."""
    return examine_bytes(read_regular_file(path), max_pixels=max_pixels)


def open_regular(path: str | os.PathLike):
    """``open(path, "rb")`` for regular files only. A FIFO, device or socket named like an image would block the
    reader forever (a FIFO with no writer) or never end (``/dev/zero``): BadImage("not_a_regular_file") instead.
    Opened without blocking, then checked on the open descriptor, so a file swapped after a check is caught too."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise BadImage("unreadable", exc.strerror or str(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BadImage("not_a_regular_file", f"this is {describe_file_type(mode)}, not a regular file; only "
                           "regular files are read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def describe_file_type(mode: int) -> str:
    """'a named pipe (FIFO)', 'a socket'... for a stat mode that is not a regular file."""
    for test, words in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                        (stat.S_ISDIR, "a folder")):
        if test(mode):
            return words
    return "not a regular file"


def read_regular_file(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (default MAX_FILE_BYTES); BadImage (unreadable,
    not_a_regular_file, too_large)."""
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise BadImage("too_large", f"{size:,} bytes is over the {limit:,} byte limit for one image file")
            return fh.read(limit + 1)
    except BadImage:
        raise
    except OSError as exc:
        raise BadImage("unreadable", exc.strerror or str(exc)) from None


@contextlib.contextmanager
def safe_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS):
    """``with safe_image(path) as image:`` in place of ``with Image.open(path) as image:`` for files that may have
    changed since ingest: a regular file only, and a picture claiming more than ``max_pixels`` is refused before a
    pixel is decoded. Raises BadImage (an OSError) for both."""
    data = read_regular_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage("decompression_bomb", str(exc).split(".")[0]) from None
    except UnidentifiedImageError:
        raise BadImage("not_an_image", "Pillow does not recognise this file as a picture") from None
    with image:
        _check_pixels(image, max_pixels)
        yield image


def examine_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageFacts:
    if not data:
        raise BadImage("empty", "the file has zero bytes")
    image_id = hashlib.sha256(data).hexdigest()
    with warnings.catch_warnings():
        # Pillow only warns between 1x and 2x its limit; a warning is as much a bomb to us as the error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _decode(data, max_pixels)
        taken_at = _exif_taken_at(image)
        original_mode, original_format = image.mode, image.format or "unknown"
        picture = to_rgb(ImageOps.exif_transpose(image))
    import imagehash

    return ImageFacts(
        image_id=image_id,
        width=picture.width,
        height=picture.height,
        phash=str(imagehash.phash(picture)),
        exif_taken_at=taken_at,
        format=original_format,
        mode=original_mode,
        colour_layout=colour_layout(picture),
    )


def colour_layout(picture: Image.Image) -> bytes:
    """The picture averaged down to 8x8 RGB cells (192 bytes)."""
    return picture.resize((8, 8), Image.BOX).tobytes()


def open_rgb(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """An image file as upright 8-bit RGB (EXIF rotation applied, alpha over white); BadImage when unusable.

    The one loader later stages need: it treats CMYK, palette, 16-bit and transparent files the way ingest did,
    and refuses what may have replaced an image since ingest (a FIFO, a device, a decompression bomb).
    """
    data = read_regular_file(path)
    if not data:
        raise BadImage("empty", "the file has zero bytes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return to_rgb(ImageOps.exif_transpose(_decode(data, max_pixels)))


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    """Open, verify the structure, then decode every pixel (verify alone misses truncated JPEGs)."""
    try:
        probe = Image.open(io.BytesIO(data))
        _check_pixels(probe, max_pixels)
        probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("not_an_image", "Pillow does not recognise this file as a picture") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage("decompression_bomb", str(exc).split(".")[0]) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as exc:
        message = str(exc) or type(exc).__name__
        reason = "truncated" if "truncat" in message.lower() or isinstance(exc, EOFError) else "corrupt"
        raise BadImage(reason, message[:200]) from None
    return image


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    pixels = image.width * image.height
    if pixels > max_pixels:
        raise BadImage(
            "decompression_bomb",
            f"{image.width}x{image.height} = {pixels:,} pixels is over the {max_pixels:,} pixel limit",
        )


def _exif_taken_at(image: Image.Image) -> dt.datetime | None:
    """EXIF DateTimeOriginal with its offset, else the plain DateTime; None when absent or unreadable."""
    try:
        exif = image.getexif()
        detail = exif.get_ifd(_EXIF_IFD)
        original = detail.get(_DATETIME_ORIGINAL)
        if original:
            return parse_exif_datetime(original, detail.get(_OFFSET_TIME_ORIGINAL))
        return parse_exif_datetime(exif.get(_DATETIME))
    except Exception:  # damaged EXIF must not cost the image: it simply has no EXIF date
        return None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any supported mode -> 8-bit RGB. Transparent pixels go over white, as they look on a web page."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode not in SUPPORTED_MODES:
        raise BadImage("unsupported_mode", f"colour mode {mode} cannot be converted to RGB faithfully; save it as RGB")
    if mode in _HIGH_BIT_MODES:
        return _high_bit_to_rgb(image)
    if mode in _ALPHA_MODES:
        if mode == "P" and "transparency" not in image.info:
            return image.convert("RGB")
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _high_bit_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit and float greys: Pillow's own conversion clips everything above 255 to white, so scale instead."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16"):
        scaled = values / 257.0
    elif image.mode == "F" and values.size and np.nanmax(values) <= 1.0:
        scaled = values * 255.0
    else:
        top = float(np.nanmax(values)) if values.size else 0.0
        scaled = values * (255.0 / top) if top > 255 else values
    grey = np.clip(np.nan_to_num(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")
