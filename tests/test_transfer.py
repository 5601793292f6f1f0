"""Transfer learning: backbone features, the features file, the tuned
classifier, its safe skops format and predict.py on a .skops model."""

import os

import h5py
import numpy as np
import pytest
from conftest import SHARED_DATA, assert_clean_failure, make_colour_dataset, needs_shared, run_script

from pyimagesearch.transfer.backbones import check_backbone_args
from pyimagesearch.transfer.classifier import GridSearch, load_classifier, save_classifier, tune_classifier
from pyimagesearch.utils.errors import UserError


@pytest.mark.parametrize("backbone, alpha, dim", [("mobilenet", 0.25, 256), ("mobilenetv2", 0.35, 1280),
                                                  ("resnet50", None, 2048)])
def test_feature_shapes_at_the_smallest_input(backbone, alpha, dim):
    from pyimagesearch.transfer.backbones import build_backbone
    from pyimagesearch.transfer.features import FeatureExtractor

    model = build_backbone(backbone, weights=None, size=32, alpha=alpha)
    extractor = FeatureExtractor(model, backbone, 32, flip=True)
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    features = extractor.features(images)
    assert features.shape == (3, dim) and features.dtype == np.float32
    assert np.isfinite(features).all()


def test_backbone_flags_are_checked_before_tensorflow(tmp_path):
    assert check_backbone_args("mobilenet", None) == (224, 1.0)
    assert check_backbone_args("inceptionv3", None) == (299, None)
    with pytest.raises(UserError, match="at least 75x75"):
        check_backbone_args("inceptionv3", None, size=32)
    with pytest.raises(UserError, match="MobileNet backbones only"):
        check_backbone_args("resnet50", None, alpha=0.5)
    with pytest.raises(UserError, match="weights file not found"):
        check_backbone_args("resnet50", str(tmp_path / "missing.h5"))


def test_extract_train_predict_end_to_end(tmp_path):
    data = make_colour_dataset(tmp_path / "data", per_class=12, size=(36, 40))
    os.rename(data / "red" / "red_000.png", data / "red" / "röd_000.png")
    (data / "blue" / "broken.jpg").write_bytes(b"not a jpeg")
    db, model = tmp_path / "out" / "features.hdf5", tmp_path / "out" / "colours.skops"

    # Random MobileNets give near-constant features; a random ResNet50 keeps the colours.
    result = run_script("extract_features.py", "--dataset", data, "--output", db, "--backbone",
                        "resnet50", "--weights", "none", "--size", "32", "--batch-size", "8",
                        "--buffer-size", "5")
    assert result.returncode == 0, result.stderr
    assert f"skipped {data / 'blue' / 'broken.jpg'}: " in result.stderr
    with h5py.File(db, "r") as f:
        features, labels = f["features"][:], f["labels"][:]
        names = list(f["label_names"].asstr()[:])
        paths = list(f["paths"].asstr()[:])
        assert f.attrs["backbone"] == "resnet50" and f.attrs["alpha"] == "none"
        assert f.attrs["width"] == 32 and f.attrs["weights"] == "none"
    assert features.shape == (36, 2048) and features.dtype == np.float32
    assert names == ["blue", "green", "red"]
    assert str(data / "red" / "röd_000.png") in paths
    assert [names[i] for i in labels] == [os.path.basename(os.path.dirname(p)) for p in paths]
    assert paths != sorted(paths)  # shuffled with --seed
    assert not [p for p in os.listdir(db.parent) if ".tmp-" in p]

    result = run_script("train_model.py", "--db", db, "--model", model, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert "best hyperparameters: {'C': " in result.stdout and "test accuracy" in result.stdout
    assert model.exists() and model.with_suffix(".json").exists()

    result = run_script("predict.py", "--model", model, "--image", data / "green",
                        data / "red" / "*.png",
                        "--output", tmp_path / "annotated", "--csv", tmp_path / "p.csv")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(rows) == 24 and all(len(r) == 3 and 0 <= float(r[2]) <= 1 for r in rows)
    correct = sum(r[1] == os.path.basename(os.path.dirname(r[0])) for r in rows)
    assert correct >= 20, rows
    assert len(os.listdir(tmp_path / "annotated")) == 24


@needs_shared
def test_extract_with_a_weights_file_records_it(tmp_path):
    weights = SHARED_DATA / "weights" / "mobilenet_2_5_224_tf_no_top.h5"
    data = make_colour_dataset(tmp_path / "data", per_class=3)
    result = run_script("extract_features.py", "--dataset", data, "--output", tmp_path / "f.hdf5",
                        "--backbone", "mobilenet", "--alpha", "0.25", "--weights", weights,
                        "--size", "64", "--no-flip")
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "f.hdf5", "r") as f:
        assert f["features"].shape == (9, 256)
        assert f.attrs["weights"] == str(weights) and f.attrs["alpha"] == 0.25
        assert f.attrs["weights_sha256"].startswith("dbdb03ee2a22fd89")
        assert np.ptp(f["features"][:], axis=0).max() > 0  # real weights, varied features


def test_train_model_refuses_a_file_without_features(tmp_path):
    with h5py.File(tmp_path / "images.hdf5", "w") as f:
        f.create_dataset("images", data=np.zeros((4, 8, 8, 3), np.uint8))
    result = run_script("train_model.py", "--db", tmp_path / "images.hdf5", "--model", tmp_path / "m.skops")
    assert_clean_failure(result, 2, "images.hdf5", "not a features file", "extract_features.py")


def test_imagenet_weights_offline_name_the_file_to_obtain(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # no cached weights
    data = make_colour_dataset(tmp_path / "data", per_class=2)
    result = run_script("extract_features.py", "--dataset", data, "--output", tmp_path / "f.hdf5",
                        "--backbone", "mobilenet", "--alpha", "0.25", "--weights", "imagenet",
                        timeout=120)
    if result.returncode == 0:
        pytest.skip("this machine can download the weights")
    assert_clean_failure(result, 1, "mobilenet_2_5_224_tf_no_top.h5", "--weights")
    assert not (tmp_path / "f.hdf5").exists()


def test_grid_search_picks_c_from_the_grid():
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=240, n_features=20, n_informative=6, n_classes=3,
                               random_state=0)
    plain = tune_classifier(x[:180], y[:180], GridSearch(jobs=1))
    scaled = tune_classifier(x[:180] * 50, y[:180], GridSearch(jobs=1), scale=True)
    assert plain.best_params_["logreg__C"] in (0.0001, 0.001, 0.01, 0.1, 1.0)
    assert list(scaled.best_estimator_.named_steps) == ["scale", "logreg"]
    assert plain.score(x[180:], y[180:]) > 0.6


class SneakyLogisticRegression:
    """Not a scikit-learn type: skops must not load it without being told to trust it."""

    def predict_proba(self, x):
        return x


def test_skops_round_trip_and_refused_untrusted_file(tmp_path):
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(30, 4))
    y = np.arange(30) % 3
    classifier = LogisticRegression().fit(x, y)
    save_classifier(tmp_path / "ok.skops", classifier)
    loaded = load_classifier(tmp_path / "ok.skops")
    np.testing.assert_allclose(loaded.predict_proba(x), classifier.predict_proba(x))

    import skops.io as sio
    sio.dump(SneakyLogisticRegression(), tmp_path / "sneaky.skops")
    with pytest.raises(UserError, match="refused.*SneakyLogisticRegression"):
        load_classifier(tmp_path / "sneaky.skops")
    (tmp_path / "junk.skops").write_bytes(b"\x80\x04pickle")
    with pytest.raises(UserError, match="not a skops file"):
        load_classifier(tmp_path / "junk.skops")
