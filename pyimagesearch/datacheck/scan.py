"""One pass over a dataset's files: each image is decoded once (by the
loader's read_image, so with its verdicts on bad files), in worker threads,
and turned into what every later check needs: its size, a digest of its
pixels, perceptual hashes of it and of its mirror image, its pixel
statistics and, unless --fast, its backbone features."""

import hashlib
import time
from dataclasses import dataclass, field

import cv2
import imagehash
import numpy as np
from PIL import Image
from tqdm import tqdm

from ..datasets.imagefiles import UnreadableImage, read_bytes, read_image
from ..utils.parallel import imap_ordered
from .properties import pixel_statistics

# Leading bytes of each format, to catch a file whose extension lies.
_SIGNATURES = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF8", "gif"),
               (b"BM", "bmp"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"RIFF", "webp"))
_EXTENSION_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".bmp": "bmp", ".tif": "tiff",
                     ".tiff": "tiff", ".webp": "webp", ".gif": "gif"}


@dataclass
class Scan:
    paths: list                      # readable images, in listing order
    labels: list
    unreadable: list                 # (path, label, reason)
    sizes: np.ndarray                # (n, 2) stored width, height
    digests: list                    # of the decoded pixels (and shape)
    hashes: np.ndarray               # (n, 64) bool pHash bits
    mirror_hashes: np.ndarray        # (n, 64) bool pHash bits of the mirror image
    stats: dict                      # name -> (n,) array, see properties.pixel_statistics
    formats: list                    # format of the file's bytes, or None when not recognised
    features: np.ndarray = None      # (n, d) float32, L2-normalised, or None (--fast)
    seconds: dict = field(default_factory=dict)


def file_format(path):
    with open(path, "rb") as f:
        head = f.read(12)
    for signature, name in _SIGNATURES:
        if head.startswith(signature) and (name != "webp" or head[8:12] == b"WEBP"):
            return name
    return None


def extension_lies(path, fmt):
    expected = _EXTENSION_FORMAT.get(("." + path.rsplit(".", 1)[-1]).lower())
    return fmt is not None and expected is not None and fmt != expected


def _phash_bits(gray):
    return imagehash.phash(Image.fromarray(gray)).hash.reshape(-1)


def inspect(path, resizer=None, seen=None):
    """Everything about one file, or (None, reason) when it cannot be used.
    `seen` (a dict shared by the workers) maps a digest of the file's bytes
    to the facts already found for those bytes: a byte-identical copy, the
    commonest duplicate, is not decoded again. Its facts then come without
    the backbone input, which scan() makes if it needs it."""
    try:
        data_key = hashlib.blake2b(read_bytes(path), digest_size=16).digest() if seen is not None else None
    except OSError:
        data_key = None
    if data_key is not None and data_key in seen:
        return dict(seen[data_key], input=None), None
    try:
        image = read_image(path)
    except UnreadableImage as exc:
        return None, str(exc)
    height, width = image.shape[:2]
    digest = hashlib.blake2b(image.tobytes(), digest_size=16)
    digest.update(repr(image.shape).encode())
    # Statistics and hashes on a copy at most 256 wide: the same numbers for
    # a photo and its resized copy, at a fraction of the cost.
    if width > 256:
        small = cv2.resize(image, (256, max(1, round(height * 256 / width))), interpolation=cv2.INTER_AREA)
    else:
        small = image
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    facts = {"size": (width, height), "digest": digest.digest(), "hash": _phash_bits(gray),
             "mirror": _phash_bits(np.ascontiguousarray(gray[:, ::-1])),
             "stats": pixel_statistics(small, gray), "format": file_format(path),
             "input": None}
    if data_key is not None:
        seen[data_key] = facts
    return dict(facts, input=resizer.preprocess(image) if resizer is not None else None), None


def scan(paths, labels, extractor=None, workers=None, verbose=True):
    """Inspect every path (labels: one per path); with a transfer
    FeatureExtractor, also compute features, once per distinct decoded
    image (copies share them), while the workers decode the next images."""
    start = time.perf_counter()
    resizer = extractor.resizer if extractor is not None else None
    kept, kept_labels, unreadable, facts = [], [], [], []
    feature_rows, row_of_digest, pending = [], {}, []
    model_seconds = 0.0

    def run_model():
        nonlocal model_seconds
        if pending:
            t0 = time.perf_counter()
            feature_rows.append(extractor.features(np.stack([image for _, image in pending])))
            model_seconds += time.perf_counter() - t0
            pending.clear()

    seen = {}
    results = imap_ordered(lambda p: inspect(p, resizer, seen), paths, workers=workers, chunksize=8)
    bar = tqdm(results, total=len(paths), unit="img", desc="checking", disable=not verbose, leave=False)
    for path, label, (fact, reason) in zip(paths, labels, bar):
        if fact is None:
            unreadable.append((path, label, reason))
            continue
        kept.append(path)
        kept_labels.append(label)
        if extractor is not None:
            digest = fact["digest"]
            if digest not in row_of_digest:
                if fact["input"] is None:  # a byte-identical copy overtook its first file
                    fact["input"] = resizer.preprocess(read_image(path))
                row_of_digest[digest] = len(row_of_digest)
                pending.append((digest, fact["input"]))
                if len(pending) >= extractor.batch_size:
                    run_model()
            fact["input"] = None  # only the batch waiting for the model is kept
        facts.append(fact)
    bar.close()
    run_model()
    n = len(facts)
    result = Scan(
        paths=kept, labels=kept_labels, unreadable=unreadable,
        sizes=np.array([f["size"] for f in facts], dtype=np.int64).reshape(n, 2),
        digests=[f["digest"] for f in facts],
        hashes=np.array([f["hash"] for f in facts], dtype=bool).reshape(n, 64),
        mirror_hashes=np.array([f["mirror"] for f in facts], dtype=bool).reshape(n, 64),
        stats={k: np.array([f["stats"][k] for f in facts], dtype=np.float64)
               for k in (facts[0]["stats"] if facts else ())},
        formats=[f["format"] for f in facts])
    if extractor is not None and n:
        unique = np.concatenate(feature_rows).astype(np.float32)
        unique /= np.maximum(np.linalg.norm(unique, axis=1, keepdims=True), 1e-12)
        result.features = unique[[row_of_digest[d] for d in result.digests]]
    total = time.perf_counter() - start
    result.seconds = {"decode and hash": round(total - model_seconds, 2),
                      "backbone features": round(model_seconds, 2)}
    return result
