import numpy as np

from pyimagesearch.nn import MLP
from pyimagesearch.nn.conv import SmallVGGNet


def test_mlp_is_the_tutorials_3072_1024_512_c_network():
    model = MLP.build(32 * 32 * 3, 3)
    assert model.output_shape == (None, 3)
    expected = (3072 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 3 + 3)
    assert model.count_params() == expected
    probs = model.predict(np.zeros((2, 3072), np.float32), verbose=0)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_smallvggnet_shapes_and_parameters():
    model = SmallVGGNet.build(width=64, height=64, depth=3, classes=5)
    assert model.input_shape == (None, 64, 64, 3)
    assert model.output_shape == (None, 5)

    def conv(c_in, c_out):  # 3x3 kernel + bias, then BatchNorm's 4 vectors
        return 9 * c_in * c_out + c_out + 4 * c_out

    expected = (conv(3, 32) + conv(32, 64) + conv(64, 64) + conv(64, 128) + 2 * conv(128, 128)
                + (8 * 8 * 128 * 512 + 512 + 4 * 512) + (512 * 5 + 5))
    assert model.count_params() == expected


def test_smallvggnet_takes_other_sizes():
    model = SmallVGGNet.build(width=32, height=24, depth=1, classes=2)
    assert model.predict(np.zeros((1, 24, 32, 1), np.float32), verbose=0).shape == (1, 2)
