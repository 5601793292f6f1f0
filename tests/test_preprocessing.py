import cv2
import numpy as np

from pyimagesearch.preprocessing import AspectAwarePreprocessor, ImageToArrayPreprocessor, SimplePreprocessor


def test_simple_preprocessor_averages_blocks_exactly():
    # 4x4 image of 2x2 blocks with values 0, 40, 80, 120 -> INTER_AREA gives the block means.
    image = np.kron(np.array([[0, 40], [80, 120]], dtype=np.uint8), np.ones((2, 2), np.uint8))
    image = np.dstack([image, image + 1, image + 2])
    out = SimplePreprocessor(2, 2).preprocess(image)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert out[:, :, 0].tolist() == [[0, 40], [80, 120]]
    assert out[:, :, 2].tolist() == [[2, 42], [82, 122]]


def test_simple_preprocessor_ignores_aspect_ratio():
    out = SimplePreprocessor(10, 20).preprocess(np.zeros((7, 50, 3), np.uint8))
    assert out.shape == (20, 10, 3)


def test_aspect_aware_crops_the_centre_of_the_longer_side():
    # 10 rows x 30 columns; columns 10..19 (the centre third) are white.
    image = np.zeros((10, 30, 3), np.uint8)
    image[:, 10:20] = 255
    out = AspectAwarePreprocessor(5, 5).preprocess(image)
    assert out.shape == (5, 5, 3)
    assert (out == 255).all()  # only the white centre survives the crop


def test_aspect_aware_tall_image_and_upscaling():
    image = np.zeros((30, 10, 3), np.uint8)
    image[10:20, :] = 200
    out = AspectAwarePreprocessor(20, 20, inter=cv2.INTER_NEAREST).preprocess(image)
    assert out.shape == (20, 20, 3)
    assert (out == 200).all()


def test_image_to_array_keeps_uint8_and_adds_channel_axis():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = ImageToArrayPreprocessor().preprocess(gray)
    assert out.shape == (3, 4, 1) and out.dtype == np.uint8
    assert out[:, :, 0].tolist() == gray.tolist()
    first = ImageToArrayPreprocessor("channels_first").preprocess(np.zeros((3, 4, 3), np.uint8))
    assert first.shape == (3, 3, 4)


def test_preprocessors_chain():
    image = np.full((100, 60, 3), 7, np.uint8)
    for p in (AspectAwarePreprocessor(32, 32), ImageToArrayPreprocessor()):
        image = p.preprocess(image)
    assert image.shape == (32, 32, 3) and (image == 7).all()
