"""--class-weight balanced: the weights, the note on an imbalanced dataset,
and proof that each input type really trains on them: with a learning rate
of 0 the loss Keras reports for an epoch must equal the weighted mean of the
per-image losses computed here independently (and differ from the plain
mean, so the check can fail)."""

import numpy as np
import pytest

from pyimagesearch.datasets.classweights import class_weights, describe_balance

# 12 images of class 0, 3 of class 1, 1 of class 2: weights 16/36, 16/9, 16/3.
IMBALANCED = np.array([0] * 12 + [1] * 3 + [2])


def test_balanced_weights_are_n_over_classes_times_count():
    weights = class_weights(IMBALANCED, 3)
    assert weights == pytest.approx([16 / (3 * 12), 16 / (3 * 3), 16 / (3 * 1)])
    assert np.mean(np.asarray(weights)[IMBALANCED]) == pytest.approx(1.0)  # the loss keeps its scale
    assert class_weights(IMBALANCED, 3, "none") is None
    # A class without training images carries no weight; the others as if it did not exist.
    assert class_weights(np.array([0, 0, 0, 2]), 3) == pytest.approx([4 / 6, 0, 4 / 2])
    with pytest.raises(ValueError, match="balanced"):
        class_weights(IMBALANCED, 3, "auto")


def test_note_only_when_largest_class_is_over_three_times_the_smallest():
    names = ["cats", "dogs", "panda"]
    note = describe_balance(IMBALANCED, names, None)
    assert note.startswith("[NOTE]") and "cats 12, dogs 3, panda 1" in note
    assert "--class-weight balanced" in note
    assert describe_balance(np.array([0] * 6 + [1] * 2 + [2] * 2), names, None) is None  # exactly 3x
    assert describe_balance(np.array([0] * 7 + [1] * 2 + [2] * 2), names, None) is not None
    used = describe_balance(IMBALANCED, names, class_weights(IMBALANCED, 3))
    assert used.startswith("[INFO] class weights") and "panda 5.33" in used


def weighted_and_plain_loss(model, x, y, weights):
    """Mean cross-entropy over the images, weighted by class and plain,
    computed in numpy from the model's weights (Rescaling 1/255, Flatten,
    Dense softmax)."""
    dense = model.layers[-1]
    logits = (np.asarray(x, np.float64).reshape(len(x), -1) / 255.0 @ np.asarray(dense.kernel, np.float64)
              + np.asarray(dense.bias, np.float64))
    top = logits.max(axis=1)
    losses = top + np.log(np.exp(logits - top[:, None]).sum(axis=1)) - logits[np.arange(len(y)), y]
    return float(np.mean(np.asarray(weights)[y] * losses)), float(np.mean(losses))


def tiny_model(input_shape, classes=3):
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(input_shape), keras.layers.Rescaling(1 / 255.0),
                              keras.layers.Flatten(),
                              keras.layers.Dense(classes, activation="softmax")])
    # Random weights that give clearly different losses per class.
    model.layers[-1].kernel.assign(np.random.default_rng(0).normal(0, 0.3, model.layers[-1].kernel.shape))
    return model


def test_hdf5_sequence_batches_carry_the_class_weights(tmp_path):
    import keras

    from pyimagesearch.io import HDF5DatasetWriter
    from pyimagesearch.io.hdf5sequence import HDF5Sequence

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (len(IMBALANCED), 4, 4, 3), dtype=np.uint8)
    with HDF5DatasetWriter(images.shape, tmp_path / "train.hdf5") as writer:
        writer.store_class_labels(["a", "b", "c"])
        writer.add(images, IMBALANCED)
    seq = HDF5Sequence(tmp_path / "train.hdf5", 5)
    weights = class_weights(IMBALANCED, 3)
    seq.class_weights = weights
    _, _, w = seq[1]
    np.testing.assert_allclose(w, np.asarray(weights, np.float32)[IMBALANCED[5:10]])
    model = tiny_model((4, 4, 3))
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy")
    reported = model.fit(seq, epochs=1, verbose=0).history["loss"][0]
    weighted, plain = weighted_and_plain_loss(model, images, IMBALANCED, weights)
    assert reported == pytest.approx(weighted, rel=1e-4)
    assert abs(weighted - plain) > 100 * 1e-4 * weighted  # the check can tell them apart
    seq.close()
