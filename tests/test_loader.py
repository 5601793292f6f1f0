import os
import random

import cv2
import numpy as np
import pytest
from conftest import SHARED_DATA, make_colour_dataset, needs_shared
from imagecorpus import write_corpus

from pyimagesearch.datasets import SimpleDatasetLoader, UnreadableImage, list_images, read_image
from pyimagesearch.datasets.imagefiles import MAX_PIXELS
from pyimagesearch.preprocessing import SimplePreprocessor


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    expected = write_corpus(root)
    return root, expected


def rel(root, path):
    return os.path.relpath(path, root).replace(os.sep, "/")


def test_list_images_finds_every_image_once_and_nothing_else(corpus):
    root, expected = corpus
    paths, labels = list_images(root)
    listed = sorted(rel(root, p) for p in paths)
    assert listed == sorted(list(expected["good"]) + list(expected["bad"]))
    # Labels are the class folder under the root, also for nested sub-folders.
    by_path = dict(zip((rel(root, p) for p in paths), labels))
    assert by_path["cats/indoor/sofa/nested.PNG"] == "cats"
    assert by_path["dogs/café au lait 1.jpg"] == "dogs"


def test_loader_keeps_good_files_and_names_each_bad_one(corpus):
    root, expected = corpus
    paths, labels = list_images(root)
    loader = SimpleDatasetLoader([SimplePreprocessor(16, 16)])
    data, kept_labels = loader.load(paths, labels=labels)
    assert data.dtype == np.uint8 and data.shape == (len(expected["good"]), 16, 16, 3)
    assert sorted(rel(root, p) for p in loader.paths) == sorted(expected["good"])
    reasons = {rel(root, p): reason for p, reason in loader.skipped}
    assert set(reasons) == set(expected["bad"])
    for name, fragment in expected["bad"].items():
        assert fragment in reasons[name], (name, reasons[name])
    assert sorted(set(kept_labels)) == ["cats", "dogs"]


def test_awkward_encodings_become_three_channel_bgr(corpus):
    root, _ = corpus
    alpha = read_image(root / "cats" / "alpha.png")
    assert alpha.shape == (8, 8, 3)
    assert (alpha[:, :4] == 255).all()      # transparent -> white background
    assert (alpha[:, 4:] == 127).all()      # 50% black over white
    palette = read_image(root / "cats" / "palette.png")
    assert (palette == 255).all()           # the transparent palette entry -> white
    assert (read_image(root / "cats" / "sixteen.png") == 100).all()  # 25700/257
    gray = read_image(root / "cats" / "gray.jpg")
    assert gray.shape == (30, 40, 3) and (gray[:, :, 0] == gray[:, :, 2]).all()
    cmyk = read_image(root / "cats" / "cmyk.jpg")
    assert cmyk.shape == (16, 16, 3)
    b, g, r = cmyk[8, 8].astype(int)
    assert r > 200 and g < 60 and b < 60    # CMYK (0, 255, 255, 0) is red
    assert read_image(root / "cats" / "exif_rotated.jpg").shape == (40, 20, 3)  # turned upright
    assert read_image(root / "cats" / "tiny.png").shape == (1, 1, 3)


def test_bomb_is_refused_before_decoding(corpus):
    root, _ = corpus
    with pytest.raises(UnreadableImage, match="refused"):
        read_image(root / "cats" / "bomb.png")
    assert 100_000 * 100_000 > MAX_PIXELS


def test_reduced_jpeg_decode_keeps_at_least_the_requested_size(tmp_path):
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), np.random.default_rng(1).integers(0, 256, (600, 800, 3), dtype=np.uint8))
    assert read_image(path).shape == (600, 800, 3)
    assert read_image(path, min_size=64).shape == (75, 100, 3)    # 1/8: 75 >= 64
    assert read_image(path, min_size=100).shape == (150, 200, 3)  # 1/4
    assert read_image(path, min_size=500).shape == (600, 800, 3)  # no reduction possible


def test_seeded_order_is_the_tutorials_protocol(tmp_path):
    root = make_colour_dataset(tmp_path / "d", per_class=5)
    paths, labels = list_images(root, seed=42)
    expected = sorted(str(p) for p in root.rglob("*.png"))
    random.seed(42)
    random.shuffle(expected)
    assert paths == expected
    assert labels == [os.path.basename(os.path.dirname(p)) for p in expected]
    again, _ = list_images(root, seed=42)
    assert again == paths


def test_labels_from_file_names(tmp_path):
    for name in ("cat.0.jpg", "cat.1.jpg", "dog.0.jpg"):
        cv2.imwrite(str(tmp_path / name), np.zeros((4, 4, 3), np.uint8))
    paths, labels = list_images(tmp_path, label_from="filename")
    assert sorted(labels) == ["cat", "cat", "dog"]
    data, loaded = SimpleDatasetLoader([SimplePreprocessor(4, 4)], label_from="filename").load(paths)
    assert list(loaded) == labels and data.shape == (3, 4, 4, 3)


def test_book_style_call_returns_parent_folder_labels(tmp_path):
    root = make_colour_dataset(tmp_path / "d", per_class=3)
    paths = sorted(str(p) for p in root.rglob("*.png"))
    data, labels = SimpleDatasetLoader(preprocessors=[SimplePreprocessor(8, 8)]).load(paths, verbose=-1)
    assert data.shape == (9, 8, 8, 3)
    assert list(labels) == [os.path.basename(os.path.dirname(p)) for p in paths]
    # Decoding on several threads gives exactly the same array as on one.
    single, _ = SimpleDatasetLoader([SimplePreprocessor(8, 8)], workers=1).load(paths)
    assert np.array_equal(single, data)


@needs_shared
def test_tutorial_split_on_animals_has_the_published_test_support():
    from sklearn.model_selection import train_test_split

    paths, labels = list_images(SHARED_DATA / "animals", seed=42)
    assert len(paths) == 3000
    _, test_labels = train_test_split(np.array(labels), test_size=0.25, random_state=42)
    names, counts = np.unique(test_labels, return_counts=True)
    assert dict(zip(names, counts)) == {"cats": 236, "dogs": 236, "panda": 278}


def _jpeg_variants(tmp_path):
    """JPEGs whose frame header sits behind different segments: baseline,
    progressive, grayscale, and one with a large EXIF block before the frame."""
    from PIL import Image
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 420, 3), dtype=np.uint8)
    paths = {}
    for name, params in (("baseline", []), ("progressive", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])):
        paths[name] = tmp_path / f"{name}.jpg"
        cv2.imwrite(str(paths[name]), image, params)
    paths["gray"] = tmp_path / "gray.jpg"
    cv2.imwrite(str(paths["gray"]), image[:, :, 0])
    exif = Image.Exif()
    exif[0x010E] = "x" * 20000  # ImageDescription: pushes the frame header 20 kB in
    exif[0x0112] = 6  # orientation: rotated; the stored size is still 420x300
    paths["exif"] = tmp_path / "exif.jpg"
    Image.fromarray(image).save(paths["exif"], exif=exif.tobytes())
    return paths


def test_jpeg_header_walk_agrees_with_pillow(tmp_path):
    from PIL import Image

    from pyimagesearch.datasets.imagefiles import _jpeg_size
    for name, path in _jpeg_variants(tmp_path).items():
        with Image.open(path) as im:
            assert _jpeg_size(np.fromfile(path, dtype=np.uint8)) == im.size == (420, 300), name
    assert _jpeg_size(np.frombuffer(b"\x89PNG\r\n\x1a\n", np.uint8)) is None


def test_jpeg_whose_header_claims_an_enormous_size_is_refused(tmp_path):
    # SOI, a frame header claiming 60000x60000 pixels, EOI: nothing to decode.
    sof = b"\xff\xc0\x00\x11\x08" + (60000).to_bytes(2, "big") * 2 + b"\x03" + b"\x01\x11\x00" * 3
    path = tmp_path / "bomb.jpg"
    path.write_bytes(b"\xff\xd8" + sof + b"\xff\xd9")
    with pytest.raises(UnreadableImage, match="over the limit"):
        read_image(path)


@pytest.mark.parametrize("chunksize", [1, 3, 8, 100])
def test_imap_ordered_returns_results_in_order_whatever_the_chunks(chunksize):
    import time

    from pyimagesearch.utils.parallel import imap_ordered

    def slow_square(x):
        time.sleep(0.002 * (x % 3))  # later items often finish first
        return x * x

    results = imap_ordered(slow_square, iter(range(23)), workers=3, chunksize=chunksize)
    assert list(results) == [x * x for x in range(23)]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_read_bytes_reads_whole_files_and_streams_past_a_stale_size(tmp_path):
    import threading

    from pyimagesearch.datasets.imagefiles import read_bytes

    empty, small = tmp_path / "empty.jpg", tmp_path / "small.jpg"
    empty.write_bytes(b"")
    payload = np.random.default_rng(0).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
    small.write_bytes(payload[:1000])
    assert read_bytes(empty) == b"" and read_bytes(small) == payload[:1000]
    # A pipe reports size 0, like a file that grew after its size was read.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(payload))
    writer.start()
    assert read_bytes(fifo) == payload
    writer.join()
