"""Find the images of a folder dataset and decode any one of them safely.

Channel order: every decoded image is 3-channel uint8 in OpenCV's BGR order,
whatever the file held (grayscale, alpha, palette, 16-bit, CMYK).
"""

import io
import os
import random
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ..preprocessing.inputspec import CHANNEL_ORDER  # noqa: F401 - the order read_image returns

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Refuse images whose header claims more pixels than this before decoding
# them (a "decompression bomb" would otherwise allocate gigabytes).
MAX_PIXELS = 100_000_000


@dataclass(frozen=True)
class DecodeOptions:
    """How each listed image becomes a stored or model-sized image: decoded
    and resized (`resize`, a key of preprocessing.RESIZERS) to `width` x
    `height`, in `workers` threads (default: one per CPU core)."""
    width: int
    height: int
    resize: str = "simple"
    workers: int = None

    @property
    def size(self):
        return self.width, self.height


class UnreadableImage(Exception):
    """The file is not an image we can use; the message says why."""


def list_images(root, label_from="folder", seed=None):
    """Return (paths, labels) for every image file under `root`, recursively.

    With `label_from="folder"` the label is the class folder directly under
    `root` (images in nested sub-folders belong to their top-level class
    folder; files lying in `root` itself have no class and are left out).
    With "filename" it is the part of the file name before the first ".",
    as in Kaggle's `cat.0.jpg`. Paths are sorted and then, if `seed` is not
    None, shuffled with `random.seed(seed); random.shuffle(...)`: the
    original tutorial's protocol, so a seed gives the tutorial's split.
    Hidden files and folders are ignored; symlinked folders are followed
    once each, so a symlink loop cannot recurse forever.
    """
    if label_from not in ("folder", "filename"):
        raise ValueError(f"label_from must be 'folder' or 'filename', got {label_from!r}")
    paths = []
    seen_dirs = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if label_from == "folder" and os.path.samefile(dirpath, root):
            continue
        paths.extend(os.path.join(dirpath, name) for name in filenames
                     if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS))
    paths.sort()
    if seed is not None:
        random.seed(seed)
        random.shuffle(paths)
    if label_from == "filename":
        labels = [filename_label(p) for p in paths]
    else:
        labels = [os.path.relpath(p, root).split(os.sep)[0] for p in paths]
    return paths, labels


def filename_label(path):
    """The label in a file name: the part before the first "." (cat.0.jpg -> cat)."""
    return os.path.basename(path).split(".")[0]


def _reduced_flag(stored_size, min_size):
    """Pick the strongest JPEG DCT-domain reduction (1/2, 1/4, 1/8) that still
    leaves at least `min_size` pixels on the shorter side. Decoding at 1/8
    scale skips most of the IDCT work, so large photos decode several times
    faster than at full size."""
    if not min_size:
        return cv2.IMREAD_COLOR
    shorter = min(stored_size)
    for factor, flag in ((8, cv2.IMREAD_REDUCED_COLOR_8),
                         (4, cv2.IMREAD_REDUCED_COLOR_4),
                         (2, cv2.IMREAD_REDUCED_COLOR_2)):
        if shorter // factor >= min_size:
            return flag
    return cv2.IMREAD_COLOR


def _to_bgr8(image):
    """Normalise whatever cv2.IMREAD_UNCHANGED returned to 3-channel uint8 BGR."""
    if image.dtype == np.uint16:
        # Round 0..65535 to 0..255 rather than truncating (x >> 8).
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        # Composite on white: transparent regions would otherwise become
        # whatever colour happened to be stored under alpha 0 (often black).
        alpha = image[:, :, 3:4].astype(np.uint16)
        bgr = image[:, :, :3].astype(np.uint16)
        return ((bgr * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic):
# every marker 0xC0-0xCF except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data):
    """(width, height) from a JPEG's start-of-frame header, or None if `data`
    is not a JPEG this simple walk understands (the caller then asks Pillow).

    Written by hand because it is the loader's hot path: Pillow's Image.open
    parses every header segment (EXIF included) in Python while holding the
    GIL, about 100-150 us per photo, a sixth of a reduced-scale decode; this
    walk jumps from marker to marker and reads four numbers.
    """
    buf = memoryview(data)
    n = len(buf)
    if n < 4 or buf[0] != 0xFF or buf[1] != 0xD8:
        return None
    pos = 2
    while pos + 4 <= n:
        if buf[pos] != 0xFF:
            return None
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        if marker in _SOF_MARKERS:
            if pos + 9 > n or length < 8:
                return None
            height = (buf[pos + 5] << 8) | buf[pos + 6]
            width = (buf[pos + 7] << 8) | buf[pos + 8]
            # Height 0 means "given later by a DNL marker": let Pillow decide.
            return (width, height) if width and height else None
        if marker in (0xD9, 0xDA) or length < 2:  # end of image or scan data before any frame
            return None
        pos += 2 + length
    return None


def _probe_header(data, max_pixels):
    """(width, height, format) from Pillow, which reads only the header: a
    cheap way to know the format and stored size before OpenCV allocates
    anything. Raises UnreadableImage for what Pillow cannot identify."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                return probe.size[0], probe.size[1], probe.format
    except Image.DecompressionBombError:
        raise UnreadableImage(f"image header claims an enormous size; refused "
                              f"(limit {max_pixels:,} pixels)") from None
    except Exception:  # noqa: BLE001 - Pillow raises many types for non-images
        raise UnreadableImage("not an image file (unknown or corrupt header)") from None


def read_bytes(path):
    """The whole file, in three system calls where possible (open, fstat,
    read), with the GIL released while reading. np.fromfile, which goes
    through a Python file object and C stdio, took measurably longer per
    Animals JPEG (BENCHMARKS.md, "Loader")."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) == size:  # the usual case: the whole file in one read
            return data
        # The file changed size since fstat, or is over 2 GB (the most one
        # read returns on Linux): read on to its end.
        chunks = [data]
        while chunk := os.read(fd, 1 << 24):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_image(path, min_size=None, max_pixels=MAX_PIXELS):
    """Decode `path` to a uint8 BGR array of shape (H, W, 3).

    `min_size` (pixels) lets JPEGs decode at reduced resolution when their
    shorter side is at least 2x larger than needed. Raises UnreadableImage
    with a short reason for anything that is not a usable image.
    """
    try:
        data = np.frombuffer(read_bytes(path), dtype=np.uint8)
    except OSError as exc:
        raise UnreadableImage(f"cannot read file ({exc.strerror or exc})") from None
    if data.size == 0:
        raise UnreadableImage("empty file (0 bytes)")
    size = _jpeg_size(data)
    if size is not None:
        (width, height), fmt = size, "JPEG"
    else:
        width, height, fmt = _probe_header(data, max_pixels)
    if width * height > max_pixels:
        raise UnreadableImage(f"image is {width}x{height} = {width * height:,} pixels, "
                              f"over the limit of {max_pixels:,}; refused")
    if fmt == "JPEG":
        # A JPEG cut short (half-copied download) lacks its end-of-image
        # marker; some OpenCV builds would return it with a grey bottom half.
        if b"\xff\xd9" not in data[-1024:].tobytes():
            raise UnreadableImage("truncated JPEG (no end-of-image marker)")
        image = cv2.imdecode(data, _reduced_flag((width, height), min_size))
    else:
        # UNCHANGED keeps alpha, palette transparency and 16-bit depth, which
        # IMREAD_COLOR would silently drop or truncate.
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if image is not None:
            image = _to_bgr8(image)
    if image is None or image.size == 0:
        raise UnreadableImage(f"{fmt or 'image'} data could not be decoded (corrupt or truncated)")
    return image
