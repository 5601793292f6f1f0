"""Generate a folder dataset full of the files real users' folders contain:
good images in every awkward encoding, and files that must be skipped."""

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def _png_with_header_only(path, width, height):
    """A PNG whose IHDR claims width x height: a decompression bomb header."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                           + chunk(b"IEND", b""))


def write_corpus(root):
    """Write the corpus under `root` (classes `cats` and `dogs`, plus an empty
    class and a class whose only file is unreadable). Returns a dict with
    the relative paths expected to load ("good"), to be skipped with a reason
    fragment ("bad"), and never to be listed ("ignored")."""
    root = Path(root)
    cats, dogs = root / "cats", root / "dogs"
    nested = cats / "indoor" / "sofa"
    for folder in (cats, dogs, nested, root / "empty_class", root / "broken_class"):
        folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    good, bad, ignored = {}, {}, []

    def photo(h=48, w=64):
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)

    cv2.imwrite(str(cats / "plain.jpg"), photo())
    good["cats/plain.jpg"] = "ok"
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:, :4, 3] = 0           # left half fully transparent (black underneath)
    rgba[:, 4:] = (0, 0, 0, 128)  # right half half-transparent black
    cv2.imwrite(str(cats / "alpha.png"), rgba)
    good["cats/alpha.png"] = "alpha"
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.save(cats / "palette.png", transparency=1)
    good["cats/palette.png"] = "palette"
    sixteen = np.full((6, 6), 257 * 100, np.uint16)
    cv2.imwrite(str(cats / "sixteen.png"), sixteen)
    good["cats/sixteen.png"] = "16bit"
    cv2.imwrite(str(cats / "gray.jpg"), rng.integers(0, 256, (30, 40), dtype=np.uint8))
    good["cats/gray.jpg"] = "gray"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(cats / "cmyk.jpg")
    good["cats/cmyk.jpg"] = "cmyk"
    cv2.imwrite(str(cats / "tiny.png"), np.full((1, 1, 3), 77, np.uint8))
    good["cats/tiny.png"] = "1x1"
    exif_img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = exif_img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    exif_img.save(cats / "exif_rotated.jpg", exif=exif)
    good["cats/exif_rotated.jpg"] = "exif"
    cv2.imwrite(str(nested / "nested.PNG"), photo(20, 20))
    good["cats/indoor/sofa/nested.PNG"] = "nested"
    name = "café au lait 1.jpg"
    cv2.imencode(".jpg", photo())[1].tofile(str(dogs / name))
    good[f"dogs/{name}"] = "non-ascii"
    for i in range(3):
        cv2.imwrite(str(dogs / f"dog_{i}.webp"), photo())
        good[f"dogs/dog_{i}.webp"] = "ok"

    jpeg = cv2.imencode(".jpg", photo(64, 64))[1].tobytes()
    (cats / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    bad["cats/truncated.jpg"] = "truncated"
    (cats / "zero.jpg").write_bytes(b"")
    bad["cats/zero.jpg"] = "empty"
    (cats / "notes.jpg").write_text("this is not an image\n")
    bad["cats/notes.jpg"] = "not an image"
    _png_with_header_only(cats / "bomb.png", 100_000, 100_000)
    bad["cats/bomb.png"] = "refused"
    (root / "broken_class" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    bad["broken_class/broken.jpg"] = "not an image"

    (cats / ".DS_Store").write_bytes(b"\x00\x01")
    (dogs / "Thumbs.db").write_bytes(b"\x00\x01")
    (dogs / "._dog_0.webp").write_bytes(b"\x00\x05\x16\x07")
    (root / ".hidden").mkdir(exist_ok=True)
    cv2.imwrite(str(root / ".hidden" / "secret.png"), photo(8, 8))
    ignored += ["cats/.DS_Store", "dogs/Thumbs.db", "dogs/._dog_0.webp", ".hidden/secret.png"]
    try:
        os.symlink(os.path.abspath(cats), nested / "loop")  # cats/indoor/sofa/loop -> cats
    except OSError:
        pass
    return {"good": good, "bad": bad, "ignored": ignored}
