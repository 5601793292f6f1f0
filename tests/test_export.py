"""export.py and predict.py on exported models: every model kind round-trips
through ONNX, LiteRT and SavedModel with the same predictions, predict.py
gives the same output for .keras, .onnx and .tflite without importing
TensorFlow, and bad input gets one clear line."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, assert_clean_failure, make_colour_dataset, run_script

CLASSES = ["blue", "green", "red"]


def build(kind, dataset):
    """A small Keras classifier, briefly trained on `dataset`, and its sidecar
    input spec."""
    import keras

    from pyimagesearch.inference.inputs import expand_image_args, load_batches

    keras.utils.set_random_seed(1)
    size = 8 if kind == "mlp" else 16
    spec = {"width": size, "height": size, "depth": 3, "flatten": kind == "mlp", "resize": "simple",
            "channel_order": "BGR", "scale": 1 / 255.0, "mean": None}
    if kind == "mlp":
        layers = [keras.Input((size * size * 3,)), keras.layers.Dense(16, activation="relu")]
    elif kind == "vgg":  # the book's order, CONV => RELU => BN, twice
        layers = [keras.Input((size, size, 3))]
        for filters in (8, 16):
            layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
                       keras.layers.BatchNormalization(), keras.layers.MaxPooling2D()]
        layers.append(keras.layers.Flatten())
    else:
        layers = [keras.Input((size, size, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                  keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(), keras.layers.Flatten()]
    if kind == "mean":  # AlexNet's sidecar: (image - BGR mean), unscaled
        spec.update(scale=1.0, mean=[100.0, 110.0, 120.0])
        layers.append(keras.layers.Rescaling(1 / 128.0))
    model = keras.Sequential([*layers, keras.layers.Dense(len(CLASSES), activation="softmax")])
    paths = expand_image_args([str(dataset)])
    x = np.concatenate([batch for _, batch, _ in load_batches(spec, paths)])
    y = np.array([CLASSES.index(os.path.basename(os.path.dirname(p))) for p in paths])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    return model, spec


def save(model, spec, path, dataset=None):
    from pyimagesearch.modelfiles.sidecar import save_model_info

    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    arguments = {"dataset": str(dataset), "size": spec["width"], "seed": 42, "test_size": 0.25,
                 "val_size": 0.1, "labels": "folder", "resize": "simple"} if dataset else {}
    save_model_info(path, CLASSES, spec, {"arguments": arguments})
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    dataset = make_colour_dataset(root / "dataset", per_class=8, size=(30, 34))
    return root, dataset


@pytest.fixture(scope="module")
def exported_conv(workspace):
    """The conv net exported to every format once, for the predict.py tests."""
    import export

    root, dataset = workspace
    model_path = save(*build("conv", dataset), root / "conv" / "conv.keras", dataset)
    assert export.main(["--model", str(model_path), "--format", "onnx", "litert"]) in (0, None)
    return model_path


def export_predictions(model_path, images):
    """(probabilities of the .keras model, {export path: probabilities}) on `images`."""
    from pyimagesearch.export.verify import predict_kept
    from pyimagesearch.inference.inputs import expand_image_args
    from pyimagesearch.inference.runtimes import load_predictor

    paths = expand_image_args([str(images)])
    model, _, spec = load_predictor(str(model_path))
    exports = sorted(p for p in model_path.parent.iterdir()
                     if p.suffix in (".onnx", ".tflite") or p.name.endswith("_saved_model"))
    probs = {}
    for path in exports:
        if path.suffix:
            runtime, _, export_spec = load_predictor(str(path))
        else:
            from pyimagesearch.export.formats import SavedModel

            runtime, export_spec = SavedModel(str(path)), spec
        probs[path.name] = predict_kept(runtime, export_spec, paths)
    return predict_kept(model, spec, paths), probs


@pytest.mark.parametrize("kind", ["mlp", "conv", "mean"])
def test_every_format_predicts_what_the_keras_model_predicts(kind, workspace, capsys):
    import export

    root, dataset = workspace
    model_path = save(*build(kind, dataset), root / kind / f"{kind}.keras")
    formats = ["onnx", "litert", "saved_model"] if kind == "conv" else ["onnx", "litert"]
    export.main(["--model", str(model_path), "--format", *formats, "--images", str(dataset)])
    printed = capsys.readouterr()
    assert printed.out.count("top-1 agrees with") == len(formats)
    assert "24 of 24 images" in printed.out
    reference, exports = export_predictions(model_path, dataset)
    assert len(exports) == len(formats)
    assert len(set(np.argmax(reference, axis=1))) > 1  # the comparison means something
    for name, probs in exports.items():
        assert np.array_equal(np.argmax(probs, axis=1), np.argmax(reference, axis=1)), name
        assert np.max(np.abs(probs - reference)) < 1e-4, name
    onnx_info = json.loads((model_path.parent / f"{kind}.onnx.json").read_text())
    assert onnx_info["class_names"] == CLASSES
    assert onnx_info["input"] == json.loads(model_path.with_suffix(".json").read_text())["input"]
    assert onnx_info["export"]["format"] == "onnx" and onnx_info["export"]["versions"]["opset"] >= 13
    assert "onnxruntime" in onnx_info["export"]["versions"]
    assert onnx_info["export"]["verification"]["top1_agreement"] == 1.0
    litert_info = json.loads((model_path.parent / f"{kind}.tflite.json").read_text())
    assert "ai-edge-litert" in litert_info["export"]["versions"]
    # The training sidecar is left alone.
    assert "export" not in json.loads(model_path.with_suffix(".json").read_text())


def test_batch_normalization_after_relu_becomes_one_depthwise_conv(workspace, capsys):
    """tf2onnx writes BN after an activation as Mul + Add; export.py rewrites
    each pair into one depthwise 1x1 Conv (onnxruntime keeps it in its NCHWc
    layout), and the export still predicts what Keras predicts."""
    import onnx

    import export

    root, dataset = workspace
    model, spec = build("vgg", dataset)
    model.layers[1].moving_mean.assign(np.linspace(-1, 1, 8))  # a BN that changes the numbers
    model_path = save(model, spec, root / "vgg" / "vgg.keras")
    export.main(["--model", str(model_path), "--format", "onnx", "--images", str(dataset)])
    assert "24 of 24 images" in capsys.readouterr().out
    graph = onnx.load(model_path.with_suffix(".onnx")).graph
    depthwise = [n for n in graph.node if n.op_type == "Conv"
                 and any(a.name == "group" and a.i > 1 for a in n.attribute)]
    assert len(depthwise) == 2 and not any(n.op_type == "Mul" for n in graph.node)
    reference, exports = export_predictions(model_path, dataset)
    assert np.max(np.abs(exports["vgg.onnx"] - reference)) < 1e-4


@pytest.mark.parametrize("n_classes, scaler", [(3, False), (2, False), (3, True)])
def test_logistic_regression_folds_into_a_softmax_dense_layer(n_classes, scaler):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from pyimagesearch.export.fold import dense_weights

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 6)) * [1, 2, 3, 4, 5, 6] + 3
    y = rng.integers(0, n_classes, 90)
    steps = ([StandardScaler()] if scaler else []) + [LogisticRegression(max_iter=1000)]
    classifier = make_pipeline(*steps).fit(x, y)
    kernel, bias = dense_weights(classifier, "model.skops")
    logits = x @ kernel.astype(np.float64) + bias
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    assert np.allclose(softmax, classifier.predict_proba(x), atol=1e-5)


def test_one_vs_rest_classifier_is_refused():
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    from pyimagesearch.export.fold import dense_weights
    from pyimagesearch.utils.errors import UserError

    rng = np.random.default_rng(0)
    ovr = OneVsRestClassifier(LogisticRegression()).fit(rng.normal(size=(30, 4)), rng.integers(0, 3, 30))
    with pytest.raises(UserError, match="model.skops: holds a OneVsRestClassifier"):
        dense_weights(ovr, "model.skops")


def test_transfer_pipeline_exports_as_one_graph(workspace, capsys):
    """Backbone (random MobileNet weights, rebuilt from the sidecar's seed),
    mirror averaging and the logistic regression in one ONNX/LiteRT file."""
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    import export
    from pyimagesearch.inference.inputs import expand_image_args
    from pyimagesearch.modelfiles.sidecar import save_model_info
    from pyimagesearch.transfer.classifier import save_classifier
    from pyimagesearch.transfer.features import FeatureExtractor
    from pyimagesearch.transfer.skopsmodel import load_backbone

    root, dataset = workspace
    spec = {"width": 32, "height": 32, "depth": 3, "resize": "simple", "channel_order": "BGR",
            "backbone": "mobilenet", "weights": None, "alpha": 0.25, "pooling": "avg", "flip": True,
            "seed": 3, "feature_dim": 256, "weights_sha256": None}
    paths = expand_image_args([str(dataset)])
    labels = [CLASSES.index(os.path.basename(os.path.dirname(p))) for p in paths]
    extractor = FeatureExtractor(load_backbone(spec, "test"), "mobilenet", 32, flip=True)
    features = np.concatenate([f for _, _, f, _ in extractor.extract(paths)])
    classifier = Pipeline([("logreg", LogisticRegression(C=100, max_iter=2000))]).fit(features, labels)
    model_path = root / "transfer" / "lr.skops"
    model_path.parent.mkdir(exist_ok=True)
    save_classifier(model_path, classifier)
    save_model_info(model_path, CLASSES, spec, {"arguments": {}, "source": str(dataset)})
    keras.utils.clear_session()

    export.main(["--model", str(model_path), "--format", "onnx", "litert"])
    assert capsys.readouterr().out.count("on 24 of 24 images") == 2
    reference = classifier.predict_proba(features)
    from pyimagesearch.export.verify import predict_kept
    from pyimagesearch.inference.runtimes import load_predictor

    for name in ("lr.onnx", "lr.tflite"):
        runtime, _, export_spec = load_predictor(str(model_path.parent / name))
        assert export_spec["scale"] == 1.0 and not export_spec["flatten"]
        probs = predict_kept(runtime, export_spec, paths)
        assert np.array_equal(np.argmax(probs, axis=1), np.argmax(reference, axis=1)), name
        assert np.max(np.abs(probs - reference)) < 1e-4, name


def predict_rows(model, images, out, blocked=()):
    """Run predict.py (with `blocked` packages made unimportable); return
    (stdout rows, CSV rows, annotated file names)."""
    blocker = out / "blocked"
    for package in blocked:
        (blocker / package).mkdir(parents=True, exist_ok=True)
        (blocker / package / "__init__.py").write_text(f"raise ImportError('{package} is blocked')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT)]), TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, str(ROOT / "predict.py"), "--model", str(model), "--image",
                             str(images), "--top-k", "2", "--output", str(out / "annotated"),
                             "--csv", str(out / "p.csv")], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    with open(out / "p.csv", encoding="utf-8") as f:
        table = list(csv.reader(f))
    return ([line.split("\t") for line in result.stdout.splitlines()], table,
            sorted(os.listdir(out / "annotated")), result)


def test_predict_on_exports_matches_keras_without_tensorflow(exported_conv, workspace, tmp_path):
    _, dataset = workspace
    (dataset / "broken.jpg").write_bytes(b"not an image")
    try:
        keras_rows, keras_csv, keras_files, _ = predict_rows(exported_conv, dataset, tmp_path / "keras")
        for suffix in (".onnx", ".tflite"):
            rows, table, files, result = predict_rows(exported_conv.with_suffix(suffix), dataset,
                                                      tmp_path / suffix[1:], blocked=("tensorflow", "keras"))
            assert "skipped" in result.stderr and "broken.jpg" in result.stderr
            assert len(rows) == len(keras_rows) == 24 and files == keras_files
            assert table[0] == keras_csv[0] == ["path", "label1", "probability1", "label2", "probability2"]
            for row, keras_row in zip(rows, keras_rows):
                assert row[:2] == keras_row[:2], suffix  # same path, same top-1
                assert abs(float(row[2]) - float(keras_row[2])) <= 1e-4
            assert [r[:2] for r in table[1:]] == [r[:2] for r in keras_csv[1:]]
    finally:
        (dataset / "broken.jpg").unlink()


def test_threads_option_sets_the_export_runtime_threads(exported_conv, workspace, tmp_path):
    from pyimagesearch.inference.runtimes import load_model

    onnx_path = exported_conv.with_suffix(".onnx")
    session_options = load_model(str(onnx_path), threads=1).session.get_session_options()
    assert session_options.intra_op_num_threads == 1
    assert session_options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    one = run_script("predict.py", "--model", onnx_path, "--image", workspace[1], "--no-annotate",
                     "--threads", "1")
    default = run_script("predict.py", "--model", onnx_path, "--image", workspace[1], "--no-annotate")
    assert one.returncode == default.returncode == 0, one.stderr + default.stderr
    assert one.stdout == default.stdout and len(one.stdout.splitlines()) == 24
    for model, threads, fragment in ((exported_conv, "1", "exported models (.onnx, .tflite) only"),
                                     (onnx_path, "0", "--threads must be at least 1")):
        result = run_script("predict.py", "--model", model, "--image", workspace[1], "--no-annotate",
                            "--threads", threads)
        assert_clean_failure(result, 2, fragment)


def test_a_missing_runtime_names_the_package_and_the_requirements_file(exported_conv, workspace, tmp_path):
    blocker = tmp_path / "blocked" / "onnxruntime"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker.parent), str(ROOT)]))
    result = subprocess.run([sys.executable, str(ROOT / "predict.py"), "--model",
                             str(exported_conv.with_suffix(".onnx")), "--image", str(workspace[1]),
                             "--no-annotate"], capture_output=True, text=True, env=env, timeout=120,
                            check=False)
    assert_clean_failure(result, 1, "conv.onnx", "onnxruntime package", "requirements-predict.txt")


@pytest.mark.parametrize("suffix, kind", [(".onnx", "an ONNX"), (".tflite", "a LiteRT")])
def test_an_exported_file_that_is_not_a_model(suffix, kind, exported_conv, workspace, tmp_path):
    fake = tmp_path / f"fake{suffix}"
    fake.write_text("hello")
    (tmp_path / f"fake{suffix}.json").write_text(
        (exported_conv.parent / f"conv{suffix}.json").read_text())
    result = run_script("predict.py", "--model", fake, "--image", workspace[1], "--no-annotate")
    assert_clean_failure(result, 1, f"fake{suffix}", f"not {kind} model")


def test_a_sidecar_that_does_not_match_the_export(exported_conv, workspace, tmp_path):
    import shutil

    onnx = tmp_path / "conv.onnx"
    shutil.copy(exported_conv.with_suffix(".onnx"), onnx)
    shutil.copy(exported_conv.with_suffix(".json"), tmp_path / "conv.onnx.json")  # the training sidecar
    result = run_script("predict.py", "--model", onnx, "--image", workspace[1], "--no-annotate")
    assert_clean_failure(result, 1, "conv.onnx.json", "does not describe this onnx export")
    info = json.loads((exported_conv.parent / "conv.onnx.json").read_text())
    info["class_names"] = ["cat", "dog"]
    (tmp_path / "conv.onnx.json").write_text(json.dumps(info))
    result = run_script("predict.py", "--model", onnx, "--image", workspace[1], "--no-annotate")
    assert_clean_failure(result, 2, "conv.onnx", "3 outputs", "2 classes")


def test_int8_without_calibration_images_is_refused(workspace):
    root, dataset = workspace
    model_path = save(*build("mlp", dataset), root / "nodata" / "mlp.keras")
    result = run_script("export.py", "--model", model_path, "--format", "onnx", "--int8")
    assert_clean_failure(result, 2, "--int8 needs calibration images", "--calibrate")
    assert sorted(os.listdir(model_path.parent)) == ["mlp.json", "mlp.keras"]


def test_int8_exports_calibrate_on_the_training_split_and_report_test_accuracy(workspace, capsys):
    import export

    root, dataset = workspace
    model_path = save(*build("conv", dataset), root / "int8" / "conv.keras", dataset)
    export.main(["--model", str(model_path), "--format", "onnx", "litert", "--int8"])
    printed = capsys.readouterr().out
    assert printed.count("test accuracy on the run's 6 test images") == 2
    folder = model_path.parent
    for suffix in (".onnx", ".tflite"):
        info = json.loads((folder / f"conv_int8{suffix}.json").read_text())
        assert info["export"]["int8"] is True
        assert info["export"]["calibration"]["from"] == f"training split of {dataset}"
        assert info["export"]["test_accuracy"]["images"] == 6
        # (A model this small is mostly quantization nodes; the 4x smaller
        # file shows on real models, in benchmarks/bench_export.py.)
        assert info["export"]["size_ratio"] > 0
    reference, exports = export_predictions(model_path, dataset)
    for name in ("conv_int8.onnx", "conv_int8.tflite"):
        agreement = np.mean(np.argmax(exports[name], axis=1) == np.argmax(reference, axis=1))
        assert agreement >= 0.8, name
        assert np.max(np.abs(exports[name] - reference)) < 0.1, name


def test_a_float_export_that_disagrees_on_top1_is_not_written(workspace):
    """The original is the trained conv net; what gets exported is the same
    net with its output columns rotated (a real, different model: every
    image's top-1 class moves to another class). Verification must refuse
    it and leave the folder exactly as it was: no export, no sidecar, no
    temporary file, an earlier export untouched."""
    import dataclasses

    import keras

    import export
    from pyimagesearch.export.exportmodel import export_model
    from pyimagesearch.export.source import load_source
    from pyimagesearch.utils.errors import UserError

    root, dataset = workspace
    model_path = save(*build("conv", dataset), root / "disagree" / "conv.keras", dataset)
    earlier = model_path.with_suffix(".onnx")
    earlier.write_bytes(b"an earlier export")
    before = sorted(os.listdir(model_path.parent))
    original = load_source(str(model_path))
    rotated = keras.models.clone_model(original.model)
    weights = original.model.get_weights()
    weights[-2], weights[-1] = np.roll(weights[-2], 1, axis=1), np.roll(weights[-1], 1)
    rotated.set_weights(weights)
    rotated(np.zeros((1, *rotated.input_shape[1:]), np.float32))  # the export traces a called model
    options = export.parse_args(["--model", str(model_path), "--format", "onnx", "litert",
                                 "--images", str(dataset)])
    with pytest.raises(UserError) as raised:
        export_model(dataclasses.replace(original, model=rotated), options)
    message = str(raised.value)
    assert raised.value.exit_code == 1 and "\n" not in message
    assert message.startswith(f"{earlier}: the onnx export disagrees with {model_path}")
    assert "of 24 of 24 images" in message and message.endswith("nothing written")
    assert sorted(os.listdir(model_path.parent)) == before
    assert earlier.read_bytes() == b"an earlier export"
