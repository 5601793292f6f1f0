import numpy as np

from pyimagesearch.preprocessing.augmentation import image_augmentation
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


def test_model_input_scales_subtracts_mean_and_flattens():
    batch = np.array([[[[10, 20, 30], [40, 50, 60]]]], dtype=np.uint8)  # (1, 1, 2, 3)
    x = np.asarray(to_model_input(batch, scale=0.5, flatten=True, mean=[10, 10, 10]))
    assert x.dtype == np.float32 and x.shape == (1, 6)
    assert x.tolist() == [[0, 5, 10, 15, 20, 25]]
