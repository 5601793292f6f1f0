import tensorflow as tf


def to_model_input(images, scale=1 / 255.0, flatten=False, mean=None):
    """Turn a uint8 batch (N, H, W, C) into the float32 input a model expects.

    This is the single place where pixels become floats, so a dataset stays
    uint8 in memory and only one batch at a time is ever float. Works inside a
    tf.data map and on a numpy batch alike. `mean` (per channel, in the
    image's channel order) is subtracted before scaling.
    """
    x = tf.cast(images, tf.float32)
    if mean is not None:
        x = x - tf.constant(mean, dtype=tf.float32)
    if scale is not None and scale != 1:
        x = x * scale
    if flatten:
        x = tf.reshape(x, (tf.shape(x)[0], -1))
    return x
