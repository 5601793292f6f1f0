"""predict.py --explain: a heatmap beside every annotated copy, for Keras
ConvNets (Grad-CAM) and .skops transfer models (class activation map), the
same predictions as without it, and one-line errors where it cannot apply."""

import os

import cv2
import numpy as np
import pytest
from conftest import assert_clean_failure, make_colour_dataset, run_script

from pyimagesearch.modelfiles.sidecar import save_model_info


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_colour_dataset(tmp_path_factory.mktemp("explain") / "data", per_class=3, size=(40, 56))


def save_keras(path, model, spec):
    model.save(path)
    save_model_info(path, ["blue", "green", "red"], spec)
    return path


def test_explain_writes_a_gradcam_overlay_beside_each_annotated_copy(tmp_path, images):
    import keras

    from pyimagesearch.inference.inputs import predict_paths
    from pyimagesearch.inference.runtimes import load_predictor
    from pyimagesearch.nn.conv import SmallVGGNet
    from pyimagesearch.training.data import input_spec_for

    keras.utils.set_random_seed(0)
    model_path = save_keras(tmp_path / "vgg.keras", SmallVGGNet.build(32, 32, 3, 3), input_spec_for(32, 32))
    out = tmp_path / "out"
    result = run_script("predict.py", "--model", model_path, "--image", images, "--output", out,
                        "--explain", "--batch-size", "4")
    assert result.returncode == 0, result.stderr
    paths = sorted(str(p) for p in images.glob("*/*.png"))
    # The same probabilities as a plain prediction, from the same batched pass as the heatmaps.
    model, names, spec = load_predictor(str(model_path))
    expected = {p: f"{names[int(np.argmax(probs))]}\t{probs.max():.4f}"
                for p, probs, _ in predict_paths(model, spec, paths)}
    printed = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert printed == expected
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        overlay = cv2.imread(str(out / f"{stem}_gradcam.jpg"))
        original = cv2.imread(path)
        assert overlay is not None and overlay.shape == original.shape
        assert np.abs(overlay.astype(int) - original).mean() > 5  # the heatmap is drawn on it
        assert (out / os.path.basename(path)).exists()  # the annotated copy beside it
    assert "heatmaps in" in result.stderr

    result = run_script("predict.py", "--model", model_path, "--image", paths[0], "--output", out,
                        "--explain", "--explain-class", "purple")
    assert_clean_failure(result, 2, "--explain-class 'purple'", "blue, green, red")


def test_explain_refuses_the_mlp_in_one_line(tmp_path, images):
    from pyimagesearch.nn import MLP
    from pyimagesearch.training.data import input_spec_for

    model_path = save_keras(tmp_path / "mlp.keras", MLP.build(32 * 32 * 3, 3), input_spec_for(32, 32, flatten=True))
    result = run_script("predict.py", "--model", model_path, "--image", images, "--output", tmp_path / "o",
                        "--explain")
    assert_clean_failure(result, 2, "mlp.keras", "no convolutional layer")
    assert not list((tmp_path / "o").glob("*_gradcam.jpg"))


def test_explain_draws_the_class_activation_map_of_a_skops_model(tmp_path, images):
    from sklearn.linear_model import LogisticRegression

    from pyimagesearch.transfer.backbones import build_backbone
    from pyimagesearch.transfer.classifier import save_classifier
    from pyimagesearch.transfer.featurefile import feature_spec
    from pyimagesearch.transfer.features import FeatureExtractor

    backbone = build_backbone("mobilenet", weights=None, size=32, alpha=0.25)
    extractor = FeatureExtractor(backbone, "mobilenet", 32)
    rng = np.random.default_rng(0)
    features = extractor.features(rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8))
    classifier = LogisticRegression(max_iter=500).fit(features + rng.normal(0, 1, features.shape),
                                                        np.arange(12) % 3)
    model_path = tmp_path / "lr.skops"
    save_classifier(model_path, classifier)
    save_model_info(model_path, ["blue", "green", "red"],
                    feature_spec(extractor, None, 0.25, 0))
    out = tmp_path / "out"
    result = run_script("predict.py", "--model", model_path, "--image", images, "--output", out,
                        "--explain", "--explain-class", "green")
    assert result.returncode == 0, result.stderr
    assert len(list(out.glob("*_cam.jpg"))) == 9 and len(result.stdout.splitlines()) == 9
    result = run_script("predict.py", "--model", model_path, "--image", images, "--output", out,
                        "--explain", "--explain-layer", "conv_pw_12")
    assert_clean_failure(result, 2, "--explain-layer does not apply to a .skops model")
