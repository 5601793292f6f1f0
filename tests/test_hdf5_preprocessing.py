"""Exact-value tests of the HDF5 stage's preprocessors, rank-5 and AlexNet."""

import numpy as np
import pytest

from pyimagesearch.preprocessing import CropPreprocessor, MeanPreprocessor, PatchPreprocessor
from pyimagesearch.utils.ranked import rank5_accuracy


def grid(h, w, c=3):
    return np.arange(h * w * c, dtype=np.uint8).reshape(h, w, c)


def test_mean_preprocessor_subtracts_in_bgr_order():
    image = np.full((2, 2, 3), (10, 20, 30), dtype=np.uint8)  # B, G, R
    out = MeanPreprocessor(r_mean=3.0, g_mean=2.0, b_mean=1.0).preprocess(image)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.full((2, 2, 3), (9, 18, 27), dtype=np.float32))


def test_patch_preprocessor_is_a_seeded_exact_crop():
    image = grid(6, 8)
    a = [PatchPreprocessor(3, 2, seed=7).preprocess(image) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    patch = a[0]
    assert patch.shape == (2, 3, 3)
    y, x = np.argwhere((image == patch[0, 0]).all(axis=2))[0]
    np.testing.assert_array_equal(patch, image[y:y + 2, x:x + 3])
    rng_patches = PatchPreprocessor(3, 2, rng=np.random.default_rng(0))
    corners = {tuple(rng_patches.preprocess(image)[0, 0]) for _ in range(200)}
    assert len(corners) == (6 - 2 + 1) * (8 - 3 + 1)  # every position reachable
    with pytest.raises(ValueError, match="smaller"):
        PatchPreprocessor(9, 2).preprocess(image)


def test_crop_preprocessor_ten_crops_coordinates_and_mirrors():
    image = grid(5, 7)
    crop = CropPreprocessor(4, 3)
    assert crop.coordinates(7, 5) == [(0, 0, 4, 3), (3, 0, 7, 3), (3, 2, 7, 5), (0, 2, 4, 5),
                                      (1, 1, 5, 4)]
    crops = crop.preprocess(image)
    assert crops.shape == (10, 3, 4, 3)
    np.testing.assert_array_equal(crops[0], image[0:3, 0:4])
    np.testing.assert_array_equal(crops[2], image[2:5, 3:7])
    np.testing.assert_array_equal(crops[4], image[1:4, 1:5])
    np.testing.assert_array_equal(crops[5], image[0:3, 0:4][:, ::-1])
    np.testing.assert_array_equal(crops[9], image[1:4, 1:5][:, ::-1])
    assert CropPreprocessor(4, 3, horiz=False).preprocess(image).shape == (5, 3, 4, 3)


def test_rank5_accuracy():
    preds = np.array([[0.9, 0.1, 0, 0, 0, 0, 0],      # rank-1 hit
                      [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],  # label 2: 5th -> rank-5 hit
                      [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]])  # label 1: 6th -> miss
    assert rank5_accuracy(preds, [0, 2, 1]) == pytest.approx((1 / 3, 2 / 3))


def one_hot(classes, n=3):
    return np.eye(n)[classes]


def test_compare_views_counts_fixed_and_broken_images_with_an_interval():
    from pyimagesearch.evaluation.cropaccuracy import compare_views

    labels = np.array([0, 1, 2, 0, 1, 2])
    single = one_hot([0, 0, 0, 0, 1, 2])  # images 1 and 2 wrong
    crops = one_hot([0, 1, 2, 1, 1, 2])   # fixes 1 and 2, breaks 3
    result = compare_views(labels, single, crops)
    assert (result["fixed"], result["broken"]) == (2, 1)
    assert result["gain"] == pytest.approx(1 / 6)
    low, high = result["ci95"]
    assert low < 0 < 1 / 6 < high  # 6 images: the interval spans "no gain"

    # 40 of 400 images fixed, none broken: a gain the interval is sure of.
    labels = np.zeros(400, dtype=int)
    single = one_hot([1] * 40 + [0] * 360)
    result = compare_views(labels, single, one_hot([0] * 400))
    assert result["gain"] == pytest.approx(0.1) and result["broken"] == 0
    low, high = result["ci95"]
    assert 0.05 < low < 0.1 < high < 0.15

    same = compare_views(labels, single, single)
    assert same["gain"] == 0 and same["ci95"] == [0, 0] and same["fixed"] == 0
    assert compare_views([0], one_hot([1]), one_hot([0]))["ci95"] is None


@pytest.mark.parametrize("size, params", [(227, 58_331_907), (67, None), (32, None)])
def test_alexnet_builds_at_full_and_small_sizes(size, params):
    from pyimagesearch.nn.conv import AlexNet

    model = AlexNet.build(size, size, 3, classes=3)
    assert model.output_shape == (None, 3)
    if params:
        assert model.count_params() == params
    assert sum(1 for layer in model.layers if layer.__class__.__name__ == "Dropout") == 5


def test_predict_views_returns_each_crop_or_their_average(tmp_path):
    import cv2
    import keras

    from pyimagesearch.evaluation.cropaccuracy import predict_views
    from pyimagesearch.io import HDF5DatasetWriter

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 10, 12, 3), dtype=np.uint8)
    with HDF5DatasetWriter(images.shape, tmp_path / "test.hdf5") as writer:
        writer.store_class_labels(["a", "b"])
        writer.add(images, np.array([0, 1, 0, 1, 1]))
    # A model whose output depends on where the pixels are, so crops differ.
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    spec = {"width": 8, "height": 8, "scale": 1 / 255.0}
    db = tmp_path / "test.hdf5"
    labels, single, averaged = predict_views(model, db, spec, batch_size=2, progress=False)
    _, _, views = predict_views(model, db, spec, batch_size=2, progress=False,
                                average_crops=False)
    assert views.shape == (5, 10, 2) and averaged.shape == (5, 2)
    np.testing.assert_allclose(views.mean(axis=1), averaged, rtol=1e-5)
    # View 4 is the center crop of each image; view 9 its mirror.
    center = images[:, 1:9, 2:10].astype(np.float32) / 255
    np.testing.assert_allclose(views[:, 4], model.predict_on_batch(center), rtol=1e-5)
    np.testing.assert_allclose(views[:, 9], model.predict_on_batch(center[:, :, ::-1]),
                               rtol=1e-5)
    assert not np.allclose(views[:, 0], views[:, 4])
    resized = np.stack([cv2.resize(image, (8, 8), interpolation=cv2.INTER_AREA)
                        for image in images]).astype(np.float32) / 255
    np.testing.assert_allclose(single, model.predict_on_batch(resized), rtol=1e-5)
    np.testing.assert_array_equal(labels, [0, 1, 0, 1, 1])
