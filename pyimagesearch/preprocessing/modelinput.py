import numpy as np


def to_model_input(images, scale=1 / 255.0, flatten=False, mean=None):
    """Turn a uint8 batch (N, H, W, C) into the float32 input a model expects.

    This is the single place where pixels become floats, so a dataset stays
    uint8 in memory and only one batch at a time is ever float. A numpy batch
    (predict.py, exports) stays in numpy, so that path never imports
    TensorFlow; a tensor (inside a tf.data map) is cast with TensorFlow. The
    arithmetic is the same float32 operations either way, so both give
    identical numbers. `mean` (per channel, in the image's channel order) is
    subtracted before scaling.
    """
    if isinstance(images, np.ndarray):
        x = images.astype(np.float32)
        batch = len(x)
        reshape = np.reshape
    else:
        import tensorflow as tf

        x = tf.cast(images, tf.float32)
        batch = tf.shape(x)[0]
        reshape = tf.reshape
    if mean is not None:
        x = x - np.asarray(mean, dtype=np.float32)
    if scale is not None and scale != 1:
        x = x * np.float32(scale)
    if flatten:
        x = reshape(x, (batch, -1))
    return x
