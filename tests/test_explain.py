"""Explanations that must be right, not only drawn: Grad-CAM points at the
object that decides the class (and fails to for a model that learned
nothing), top losses are the highest, and the transfer model's class
activation map is exactly its score spread over the image."""

import math

import cv2
import numpy as np
import pytest

from pyimagesearch.evaluation.confusion import most_confused
from pyimagesearch.explain.heatmap import peak
from pyimagesearch.explain.toplosses import per_image_loss, top_losses
from pyimagesearch.utils.errors import UserError

SIZE, SQUARE = 32, 6
SQUARE_COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0)]  # BGR: the square's colour is the class


def squares_on_noise(n, rng):
    """Blocky colour noise with a small solid square at a random position:
    the square's colour is the label, so only the square can decide the class.
    Returns (uint8 images, labels, the squares' top-left corners)."""
    blocks = rng.integers(0, 256, (n, SIZE // 4, SIZE // 4, 3), dtype=np.uint8)
    images = np.stack([cv2.resize(b, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST) for b in blocks])
    images = np.clip(images.astype(np.int16) + rng.integers(-40, 41, images.shape), 0, 255).astype(np.uint8)
    labels = rng.integers(0, len(SQUARE_COLOURS), n)
    corners = rng.integers(0, SIZE - SQUARE + 1, (n, 2))
    for image, label, (y, x) in zip(images, labels, corners):
        image[y:y + SQUARE, x:x + SQUARE] = SQUARE_COLOURS[label]
    return images, labels, corners


@pytest.fixture(scope="module")
def squares():
    rng = np.random.default_rng(0)
    train, test = squares_on_noise(900, rng), squares_on_noise(200, rng)
    return train, test, rng.permutation(train[1])


def train_tiny_cnn(images, labels):
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((SIZE, SIZE, 3)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(images / 255.0, labels, epochs=8, batch_size=32, verbose=0)
    return model


def pointing_rate(model, images, corners):
    """The fraction of images whose heatmap peaks inside the square, and the accuracy."""
    from pyimagesearch.explain.gradcam import GradCAM

    maps, probs, _ = GradCAM(model).heatmaps(images / 255.0)
    hits = [y <= row < y + SQUARE and x <= col < x + SQUARE
            for heatmap, (y, x) in zip(maps, corners) for row, col in [peak(heatmap, SIZE, SIZE)]]
    return float(np.mean(hits)), probs


def test_gradcam_points_at_the_object_that_decides_the_class(squares):
    (x_train, y_train, _), (x_test, y_test, corners), _ = squares
    rate, probs = pointing_rate(train_tiny_cnn(x_train, y_train), x_test, corners)
    assert (probs.argmax(axis=1) == y_test).mean() >= 0.95
    assert rate >= 0.90, rate


def test_gradcam_pointing_check_fails_for_a_model_trained_on_shuffled_labels(squares):
    (x_train, _, _), (x_test, y_test, corners), shuffled = squares
    rate, probs = pointing_rate(train_tiny_cnn(x_train, shuffled), x_test, corners)
    assert (probs.argmax(axis=1) == y_test).mean() < 0.6
    assert rate < 0.90, rate


def test_top_losses_are_the_highest_cross_entropies():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), 200).astype(np.float32)
    probs[7] = [1.0, 0.0, 0.0, 0.0]  # a certain mistake: clipped, not infinite
    labels = rng.integers(0, 4, 200)
    labels[7] = 2
    by_hand = [-math.log(max(float(p[y]), 1e-7)) for p, y in zip(probs, labels)]
    expected = sorted(range(200), key=lambda i: (-by_hand[i], i))[:16]
    order, losses = top_losses(probs, labels, 16)
    assert order.tolist() == expected
    assert np.allclose(losses, [by_hand[i] for i in expected], rtol=1e-6)
    assert order[0] == 7 and np.isfinite(per_image_loss(probs, labels)).all()
    assert len(top_losses(probs, labels, 0)[0]) == 0


def test_most_confused_counts_each_true_predicted_pair():
    names = ["cats", "dogs", "panda"]
    y_true = [0, 0, 0, 0, 1, 1, 2, 2, 2]
    y_pred = [1, 1, 1, 0, 0, 1, 0, 1, 2]
    assert most_confused(y_true, y_pred, names) == [
        {"true": "cats", "predicted": "dogs", "count": 3},
        {"true": "dogs", "predicted": "cats", "count": 1},
        {"true": "panda", "predicted": "cats", "count": 1},
        {"true": "panda", "predicted": "dogs", "count": 1}]
    assert most_confused([0, 1], [0, 1], names) == []


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("classes, scaled, flip", [(3, False, False), (2, True, True)])
def test_class_activation_map_is_the_linear_classifiers_weighted_feature_sum(classes, scaled, flip):
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from pyimagesearch.transfer.cam import ClassActivationMap
    from pyimagesearch.transfer.features import FeatureExtractor

    keras.utils.set_random_seed(0)
    # A small stand-in for a keras.applications backbone built with pooling="avg"
    # (ResNet50's preprocessing), quick to build and with features that vary.
    backbone = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, strides=2),
                                 keras.layers.Conv2D(16, 3, activation="relu", name="last_conv"),
                                 keras.layers.GlobalAveragePooling2D()])
    extractor = FeatureExtractor(backbone, "resnet50", 32, flip=flip)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    features = extractor.features(images)
    labels = np.arange(12) % classes
    classifier = LogisticRegression(max_iter=2000)
    classifier = make_pipeline(StandardScaler(), classifier) if scaled else classifier
    classifier.fit(features, labels)

    cams, probs, chosen = ClassActivationMap(extractor, classifier).raw_maps(images)
    assert np.allclose(probs, classifier.predict_proba(features), atol=1e-5)
    assert (chosen == probs.argmax(axis=1)).all()
    if not scaled and not flip:
        # The map is w_c . F_ij at every position: computed here directly from
        # the backbone's last feature map and the classifier's coefficients.
        last = keras.Model(backbone.inputs, backbone.get_layer("last_conv").output)
        maps = last.predict_on_batch(extractor.preprocess_input(images[..., ::-1].astype(np.float32)))
        direct = np.stack([maps[i] @ classifier.coef_[c] for i, c in enumerate(chosen)])
        assert np.allclose(cams, direct, rtol=1e-4, atol=1e-5)
    # Exact for a linear classifier on average-pooled features: each class's
    # map, averaged, plus its bias, is the score the probabilities come from.
    cam = ClassActivationMap(extractor, classifier)
    scores = np.stack([cam.raw_maps(images, c)[0].mean(axis=(1, 2)) for c in range(classes)], axis=1)
    assert np.allclose(_softmax(scores + cam.biases), probs, atol=1e-4)


def test_gradcam_on_a_backbone_nested_in_a_fine_tuned_model():
    import keras

    from pyimagesearch.explain.gradcam import GradCAM

    keras.utils.set_random_seed(0)
    backbone = keras.applications.MobileNet(include_top=False, weights=None, input_shape=(64, 64, 3),
                                            alpha=0.25)
    inputs = keras.Input((64, 64, 3))
    x = backbone(keras.layers.Rescaling(2.0, offset=-1.0)(inputs), training=False)
    x = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x))
    functional = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    sequential = keras.Sequential([keras.Input((64, 64, 3)), backbone, keras.layers.GlobalAveragePooling2D(),
                                   keras.layers.Dense(3, activation="softmax")])
    images = np.random.default_rng(0).random((4, 64, 64, 3), dtype=np.float32)
    for model in (functional, sequential):
        explainer = GradCAM(model)
        assert explainer.layer_name == "conv_pw_13_relu" and explainer.logits
        maps, probs, chosen = explainer.heatmaps(images, class_index=2)
        assert maps.shape == (4, 2, 2) and (chosen == 2).all()
        assert np.allclose(probs, model(images, training=False), atol=1e-5)
    assert GradCAM(functional, layer="conv_pw_12_relu").heatmaps(images)[0].shape == (4, 2, 2)
    with pytest.raises(UserError, match="no layer named 'dense_9'"):
        GradCAM(functional, layer="dense_9")


def test_gradcam_refuses_a_model_without_a_conv_layer():
    from pyimagesearch.explain.gradcam import GradCAM
    from pyimagesearch.nn import MLP

    with pytest.raises(UserError, match="no convolutional layer"):
        GradCAM(MLP.build(12, 3))
