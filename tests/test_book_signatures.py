"""The book's exact call shapes (Deep Learning for Computer Vision with
Python): its camelCase keywords and its positional orders, on generated
images and small HDF5 files, checked by what the calls produce."""

import itertools
import json

import cv2
import h5py
import numpy as np
import pytest
from conftest import CLASS_COLOURS, make_colour_dataset, make_image

from pyimagesearch.datasets import SimpleDatasetLoader
from pyimagesearch.io import HDF5DatasetGenerator, HDF5DatasetWriter
from pyimagesearch.preprocessing import (
    AspectAwarePreprocessor,
    CropPreprocessor,
    ImageToArrayPreprocessor,
    MeanPreprocessor,
    PatchPreprocessor,
    SimplePreprocessor,
)
from pyimagesearch.utils.ranked import rank5_accuracy

NAMES = sorted(CLASS_COLOURS)


def colour_images(n=5, size=(8, 8)):
    rng = np.random.default_rng(1)
    labels = np.arange(n) % len(NAMES)
    return np.stack([make_image(CLASS_COLOURS[NAMES[c]], size, rng) for c in labels]), labels


def write_book_file(path, images, labels):
    """The book's build_hdf5 loop, as printed (keywords, then add/close)."""
    writer = HDF5DatasetWriter(images.shape, outputPath=str(path), dataKey="images", bufSize=2)
    writer.storeClassLabels(classLabels=NAMES)
    for i in range(0, len(images), 2):
        writer.add(images[i:i + 2], labels[i:i + 2])
    writer.close()


def test_writer_book_keywords_round_trip(tmp_path):
    images, labels = colour_images()
    write_book_file(tmp_path / "train.hdf5", images, labels)
    with h5py.File(tmp_path / "train.hdf5", "r") as db:
        assert db["images"].dtype == np.uint8
        np.testing.assert_array_equal(db["images"][:], images)
        np.testing.assert_array_equal(db["labels"][:], labels)
        assert list(db["label_names"].asstr()[:]) == NAMES


def test_writer_book_positionals_keep_float_features(tmp_path):
    # The book's extract_features.py: positional dataKey/bufSize, float64
    # features and no dtype. They must not be truncated to integers.
    features = np.random.default_rng(0).normal(size=(7, 6))
    writer = HDF5DatasetWriter((7, 6), str(tmp_path / "features.hdf5"), "features", 3)
    writer.storeClassLabels(NAMES)
    writer.add(features[:4], [0, 1, 2, 0])
    writer.add(features[4:], [1, 2, 0])
    writer.close()
    with h5py.File(tmp_path / "features.hdf5", "r") as db:
        np.testing.assert_allclose(db["features"][:], features, rtol=1e-6)
        assert db["features"].dtype == np.float32


def test_writer_refuses_to_truncate_floats_into_integer_file(tmp_path):
    writer = HDF5DatasetWriter((2, 3), tmp_path / "x.hdf5", dtype="uint8")
    with pytest.raises(ValueError, match="truncated"):
        writer.add(np.full((2, 3), 0.5), [0, 1])
    writer.discard()


@pytest.mark.parametrize("call", [
    lambda p: HDF5DatasetWriter((2, 3), p, outputPath=p),
    lambda p: HDF5DatasetWriter((2, 3), p, buf_size=4, bufSize=4),
    lambda p: HDF5DatasetGenerator(p, 2, batchSize=2),
])
def test_both_spellings_is_a_type_error(tmp_path, call):
    images, labels = colour_images()
    path = tmp_path / "train.hdf5"
    write_book_file(path, images, labels)
    with pytest.raises(TypeError, match="pass only one"):
        call(str(path))


def test_generator_book_keywords_and_passes(tmp_path):
    images, labels = colour_images(n=5)
    path = tmp_path / "train.hdf5"
    write_book_file(path, images, labels)
    gen = HDF5DatasetGenerator(dbPath=str(path), batchSize=2,
                               preprocessors=[SimplePreprocessor(4, 4), ImageToArrayPreprocessor()],
                               aug=None, binarize=True, classes=3)
    assert gen.numImages == 5 and isinstance(gen.db, h5py.File)
    batches = list(gen.generator(passes=1))
    assert [len(x) for x, _ in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]).argmax(axis=1), labels)
    np.testing.assert_array_equal(batches[0][0][0], cv2.resize(images[0], (4, 4), interpolation=cv2.INTER_AREA))
    # The default passes=np.inf loops over the file for ever (Keras 2's fit_generator used it).
    endless = list(itertools.islice(gen.generator(), 7))
    assert [len(x) for x, _ in endless] == [2, 2, 1, 2, 2, 1, 2]
    gen.close()
    assert not gen.db  # closed


def test_generator_book_positionals(tmp_path):
    images, labels = colour_images(n=4)
    path = tmp_path / "train.hdf5"
    write_book_file(path, images, labels)
    gen = HDF5DatasetGenerator(str(path), 4, None, None, False, 3)
    (x, y), = list(gen.generator(1))
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)  # binarize=False: integer labels
    gen.close()


def test_training_monitor_book_keywords_and_start_at(tmp_path):
    import keras

    from pyimagesearch.callbacks import TrainingMonitor
    fig, history = tmp_path / "plot.png", tmp_path / "history.json"
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, verbose=0,
              callbacks=[TrainingMonitor(figPath=str(fig), jsonPath=str(history), startAt=0)])
    assert len(json.loads(history.read_text())["loss"]) == 3
    assert cv2.imread(str(fig)) is not None
    # The book's resume: positionals, keep the first 2 epochs, append one.
    model.fit(x, y, epochs=1, verbose=0, callbacks=[TrainingMonitor(str(fig), str(history), 2)])
    assert len(json.loads(history.read_text())["loss"]) == 3
    with pytest.raises(TypeError, match="pass only one"):
        TrainingMonitor(str(fig), figPath=str(fig))


def test_loader_and_resizers_book_spellings(tmp_path):
    root = make_colour_dataset(tmp_path / "animals", per_class=3, size=(40, 48))
    paths = sorted(str(p) for p in root.glob("*/*.png"))
    sp = SimplePreprocessor(width=32, height=16, inter=cv2.INTER_AREA)
    data, labels = SimpleDatasetLoader(preprocessors=[sp]).load(imagePaths=paths, verbose=500)
    assert data.shape == (9, 16, 32, 3) and data.dtype == np.uint8
    assert list(labels) == [p.split("/")[-2] for p in paths]
    np.testing.assert_array_equal(data[0], cv2.resize(cv2.imread(paths[0]), (32, 16),
                                                      interpolation=cv2.INTER_AREA))
    aap = AspectAwarePreprocessor(16, 16, cv2.INTER_LINEAR)
    data, _ = SimpleDatasetLoader([aap, ImageToArrayPreprocessor()]).load(paths, -1)
    assert data.shape == (9, 16, 16, 3)
    # 40x48 (h x w): scaled to 16x19 (rounded), then centre-cropped to 16 wide.
    resized = cv2.resize(cv2.imread(paths[0]), (19, 16), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(data[0], resized[:, 1:17])
    aap = AspectAwarePreprocessor(width=8, height=8, inter=cv2.INTER_AREA)
    assert aap.preprocess(cv2.imread(paths[0])).shape == (8, 8, 3)


def test_patch_mean_crop_and_array_preprocessors_book_spellings():
    image = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    patch = PatchPreprocessor(width=5, height=4).preprocess(image)
    assert patch.shape == (4, 5, 3)
    hits = [(y, x) for y in range(3) for x in range(4) if np.array_equal(image[y:y + 4, x:x + 5], patch)]
    assert len(hits) == 1
    assert PatchPreprocessor(5, 4).preprocess(image).shape == (4, 5, 3)

    flat = np.full((2, 2, 3), (10, 20, 30), np.uint8)  # B, G, R
    out = MeanPreprocessor(rMean=3.0, gMean=2.0, bMean=1.0).preprocess(flat)
    np.testing.assert_array_equal(out, np.full((2, 2, 3), (9, 18, 27), np.float32))
    np.testing.assert_array_equal(MeanPreprocessor(3.0, 2.0, 1.0).preprocess(flat), out)

    crops = CropPreprocessor(width=5, height=4, horiz=True, inter=cv2.INTER_AREA).preprocess(image)
    assert crops.shape == (10, 4, 5, 3)
    np.testing.assert_array_equal(crops[0], image[:4, :5])
    np.testing.assert_array_equal(crops[5], image[:4, :5][:, ::-1])
    assert CropPreprocessor(5, 4, False, cv2.INTER_LINEAR).preprocess(image).shape == (5, 4, 5, 3)

    chw = ImageToArrayPreprocessor(dataFormat="channels_first").preprocess(image)
    np.testing.assert_array_equal(chw, image.transpose(2, 0, 1))
    assert ImageToArrayPreprocessor(dataFormat=None).preprocess(image[:, :, 0]).shape == (6, 8, 1)


def test_networks_book_signatures():
    from pyimagesearch.nn.conv import AlexNet, SmallVGGNet
    vgg = SmallVGGNet.build(width=32, height=24, depth=3, classes=4)
    assert vgg.input_shape == (None, 24, 32, 3) and vgg.output_shape == (None, 4)
    assert SmallVGGNet.build(32, 24, 3, 4).count_params() == vgg.count_params()
    alex = AlexNet.build(width=40, height=32, depth=3, classes=3, reg=0.0002)
    assert alex.input_shape == (None, 32, 40, 3) and alex.output_shape == (None, 3)
    positional = AlexNet.build(40, 32, 3, 3, 0.0005)
    l2 = [float(layer.kernel_regularizer.l2) for layer in positional.layers
          if getattr(layer, "kernel_regularizer", None) is not None]
    assert len(l2) == 8 and l2 == pytest.approx([0.0005] * 8)


def test_rank5_accuracy_book_signature():
    preds = np.array([[0.1, 0.5, 0.2, 0.05, 0.05, 0.05, 0.05],   # label 1: rank 1
                      [0.3, 0.2, 0.15, 0.12, 0.11, 0.07, 0.05],  # label 4: rank 5
                      [0.3, 0.2, 0.15, 0.12, 0.11, 0.07, 0.05]])  # label 6: rank 7
    rank1, rank5 = rank5_accuracy(preds=preds, labels=np.array([1, 4, 6]))
    assert (rank1, rank5) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert rank5_accuracy(preds, [1, 4, 6]) == (rank1, rank5)
