
import cv2
import numpy as np

from pyimagesearch.preprocessing.augmentation import image_augmentation, named_augmentation
from pyimagesearch.preprocessing.modelinput import to_model_input


def test_flip_only_augmentation_mirrors_or_keeps_each_image():
    batch = np.random.default_rng(0).integers(0, 256, (16, 6, 5, 3)).astype(np.float32)
    aug = image_augmentation(rotation=0, shift=0, shear=0, zoom=0, flip=True, seed=1)
    out = np.asarray(aug(batch, training=True))
    for original, augmented in zip(batch, out):
        assert np.array_equal(augmented, original) or np.array_equal(augmented, original[:, ::-1])
    assert not np.array_equal(out, batch) and not np.array_equal(out, batch[:, :, ::-1])


def test_no_flip_and_full_stack_keep_shapes():
    assert [layer.name for layer in image_augmentation(flip=False).layers if "flip" in layer.name] == []
    batch = np.zeros((2, 16, 16, 3), np.float32)
    assert np.asarray(image_augmentation()(batch, training=True)).shape == (2, 16, 16, 3)


def test_augmentation_presets_change_images_by_their_strength(tmp_path):
    # A real decoded image with detail everywhere: a grid of coloured squares.
    grid = np.kron(np.random.default_rng(0).integers(0, 256, (8, 8, 3)), np.ones((8, 8, 1)))
    cv2.imwrite(str(tmp_path / "grid.png"), grid.astype(np.uint8))
    batch = np.repeat(cv2.imread(str(tmp_path / "grid.png"))[None].astype(np.float32), 64, axis=0)

    def change(name):
        return np.abs(np.asarray(named_augmentation(name, flip=False, seed=3)(batch, training=True)) - batch).mean()

    assert change("none") == 0
    assert 0 < change("light") < 0.7 * change("tutorial")


def test_model_input_scales_subtracts_mean_and_flattens():
    batch = np.array([[[[10, 20, 30], [40, 50, 60]]]], dtype=np.uint8)  # (1, 1, 2, 3)
    x = np.asarray(to_model_input(batch, scale=0.5, flatten=True, mean=[10, 10, 10]))
    assert x.dtype == np.float32 and x.shape == (1, 6)
    assert x.tolist() == [[0, 5, 10, 15, 20, 25]]


def test_training_pipeline_keeps_pixels_and_one_hot_rows_match_the_labels():
    from pyimagesearch.training.data import input_spec_for, make_dataset

    images = np.arange(5 * 2 * 2 * 3, dtype=np.uint8).reshape(5, 2, 2, 3)
    labels = np.array([0, 2, 1, 2, 0])
    batches = list(make_dataset(images, labels, 2, input_spec_for(2, 2), one_hot=3))
    assert [len(x) for x, _ in batches] == [2, 2, 1]
    x = np.concatenate([x for x, _ in batches])
    np.testing.assert_allclose(x, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), np.eye(3)[labels])
    sparse = np.concatenate([y for _, y in make_dataset(images, labels, 2, input_spec_for(2, 2))])
    np.testing.assert_array_equal(sparse, labels)


def test_mixup_blends_each_image_and_its_label_by_the_same_weight():
    from pyimagesearch.training.data import input_spec_for, make_dataset

    # Class 0 is black and class 1 white, so a blended pixel's value is the
    # weight of class 1 in the blended label.
    labels = np.array([0, 1] * 8)
    images = np.stack([np.full((3, 3, 3), 255 * label, np.uint8) for label in labels])
    ds = make_dataset(images, labels, 16, input_spec_for(3, 3), shuffle=True, seed=3, one_hot=2,
                      mixup=0.4)
    x, y = (np.asarray(t) for t in next(iter(ds)))
    np.testing.assert_allclose(x, np.broadcast_to(y[:, 1, None, None, None], x.shape), atol=1e-5)
    np.testing.assert_allclose(y.sum(axis=1), 1, atol=1e-6)
    assert np.any((y[:, 1] > 0.01) & (y[:, 1] < 0.99))


def test_cutmix_pastes_one_rectangle_of_another_image_weighted_by_its_area():
    from pyimagesearch.training.data import input_spec_for, make_dataset

    # Class 0 is black and class 1 white: the white area of each image is the
    # weight of class 1 in its label.
    side = 32
    labels = np.array([0, 1] * 8)
    images = np.stack([np.full((side, side, 3), 255 * label, np.uint8) for label in labels])
    ds = make_dataset(images, labels, 16, input_spec_for(side, side), shuffle=True, seed=3,
                      one_hot=2, cutmix=1.0)
    x, y = (np.asarray(t) for t in next(iter(ds)))
    assert set(np.unique(x)) <= {0.0, 1.0}  # pasted, not blended
    # Keras weighs the label by the rectangle's real-valued area; the pixels
    # it covers can differ by up to one row and one column.
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), y[:, 1], atol=(2 * side + 1) / side**2)
    np.testing.assert_allclose(y.sum(axis=1), 1, atol=1e-6)

    def is_rectangle(mask):
        rows, cols = np.nonzero(mask)
        return mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()

    mixed = 0
    for image in x[..., 0] > 0.5:
        if image.any() and not image.all():
            mixed += 1
            # The rectangle is white on a black image or black on a white one.
            assert is_rectangle(image) or is_rectangle(~image)
    assert mixed > 0
