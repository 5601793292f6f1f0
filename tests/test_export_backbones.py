"""Every backbone family fine_tune.py and extract_features.py offer exports
to ONNX and LiteRT with export.py and gives the Keras model's predictions
there; a two-epoch fine-tuning run starts with --warmup-epochs left alone.

One small instance per family: the family's own keras.applications builder
with fewer blocks and channels where it has one (the same layer types, in
seconds instead of minutes of conversion), the smallest size otherwise;
random weights, the fine_tune.py model around it (BGR preprocessing layer,
average pooling, softmax head)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, make_colour_dataset

import fine_tune
from pyimagesearch.transfer.backbones import BACKBONES
from pyimagesearch.transfer.finetune import DEFAULT_WARMUP_EPOCHS, warmup_epochs_for
from pyimagesearch.utils.errors import UserError

CLASSES = ["blue", "green", "red"]


def small_backbone(family, size):
    """(backbone name whose preprocess_input it takes, model) of `family`."""
    import keras
    from keras.src.applications import convnext, densenet, efficientnet, resnet

    common = {"include_top": False, "weights": None, "input_shape": (size, size, 3), "pooling": "avg"}
    if family in ("resnet", "resnet_v2"):
        v2 = family == "resnet_v2"
        stack = resnet.stack_residual_blocks_v2 if v2 else resnet.stack_residual_blocks_v1
        return ("resnet50v2" if v2 else "resnet50",
                resnet.ResNet(lambda x: stack(stack(x, 8, 2, name="conv2"), 16, 2, name="conv3"),
                              preact=v2, use_bias=True, name=family, **common))
    if family == "densenet":
        return "densenet121", densenet.DenseNet([1, 1, 1, 1], name="densenet", **common)
    if family == "efficientnet":
        return "efficientnetb0", efficientnet.EfficientNet(0.25, 0.1, size, name="efficientnet", **common)
    if family == "convnext":
        return "convnexttiny", convnext.ConvNeXt([1, 1, 1, 1], [8, 16, 32, 64], name="convnext", **common)
    if family == "mobilenet":
        return family, keras.applications.MobileNet(alpha=0.25, **common)
    if family == "mobilenetv2":
        return family, keras.applications.MobileNetV2(alpha=0.35, **common)
    if family == "mobilenetv3":
        return "mobilenetv3small", keras.applications.MobileNetV3Small(alpha=0.75, minimalistic=False, **common)
    name, constructor = {"vgg": ("vgg16", "VGG16"), "inception_v3": ("inceptionv3", "InceptionV3"),
                         "xception": ("xception", "Xception")}[family]
    return name, getattr(keras.applications, constructor)(**common)


# family -> input size (the architecture's smallest where it is fixed)
FAMILIES = {"resnet": 32, "resnet_v2": 32, "vgg": 32, "mobilenet": 32, "mobilenetv2": 32,
            "mobilenetv3": 32, "densenet": 32, "efficientnet": 32, "convnext": 32, "inception_v3": 75,
            "xception": 71}
# No smaller instance of these exists: 15-22 million parameters each, about
# 50 s of CPU and up to 10 GB of memory apiece to convert. Only standard
# layers (Conv2D, SeparableConv2D, pooling, concatenation) that the other
# families' tests convert too, so they run on request only:
# BACKBONE_TESTS=all python -m pytest tests/test_export_backbones.py
FIXED_SIZE = {"vgg", "inception_v3", "xception"}
ALL_FAMILIES = os.environ.get("BACKBONE_TESTS") == "all"


def test_the_families_cover_every_backbone_choice():
    # keras.applications module of each --backbone -> the family tested here
    family = {"resnet50": "resnet", "vgg16": "vgg", "vgg19": "vgg", "mobilenet_v2": "mobilenetv2",
              "mobilenet_v3": "mobilenetv3"}
    assert {family.get(spec.module, spec.module) for spec in BACKBONES.values()} == set(FAMILIES)


def finetuned_model(family, size, images, labels):
    """The fine_tune.py model around a small `family` backbone, its head set
    to each class's mean standardised features (a nearest-mean classifier),
    so the classes differ: random weights alone give every image nearly the
    same probabilities."""
    import keras

    from pyimagesearch.transfer.finetune import preprocessing_layer

    keras.utils.set_random_seed(0)
    name, base = small_backbone(family, size)
    inputs = keras.Input((size, size, 3), name="image_bgr")
    features = base(preprocessing_layer(name)(inputs))
    head = keras.layers.Dense(len(CLASSES), activation="softmax", name="head_softmax")
    model = keras.Model(inputs, head(features), name=f"{family}_finetuned")
    pooled = np.asarray(keras.Model(inputs, features)(images), np.float64)
    mean, spread = pooled.mean(axis=0), pooled.std(axis=0) + 1e-12
    centroids = np.stack([((pooled[labels == c] - mean) / spread).mean(axis=0) for c in range(len(CLASSES))])
    kernel, bias = (centroids / spread).T, -(mean / spread) @ centroids.T
    scale = 3 / np.std(pooled @ kernel + bias)  # logits a few units apart: probabilities not saturated
    head.set_weights([(kernel * scale).astype(np.float32), (bias * scale).astype(np.float32)])
    return name, model


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_colour_dataset(tmp_path_factory.mktemp("backbones") / "data", per_class=4, size=(40, 48))


@pytest.mark.parametrize("family", [
    pytest.param(family, marks=pytest.mark.skipif(family in FIXED_SIZE and not ALL_FAMILIES,
                                                  reason="a large fixed-size network: BACKBONE_TESTS=all"))
    for family in FAMILIES])
def test_every_family_exports_to_onnx_and_litert_with_the_same_predictions(family, dataset, tmp_path, capsys):
    import keras
    import onnx

    import export
    from pyimagesearch.export.verify import predict_kept
    from pyimagesearch.inference.inputs import expand_image_args, load_batches
    from pyimagesearch.inference.runtimes import load_predictor
    from pyimagesearch.modelfiles.sidecar import save_model_info
    from pyimagesearch.transfer.finetune import input_spec

    size = FAMILIES[family]
    paths = expand_image_args([str(dataset)])
    spec = input_spec(size, family)
    images = np.concatenate([batch for _, batch, _ in load_batches(spec, paths)])
    labels = np.array([CLASSES.index(os.path.basename(os.path.dirname(p))) for p in paths])
    name, model = finetuned_model(family, size, images, labels)
    model_path = tmp_path / f"{name}.keras"
    model.save(model_path)
    save_model_info(model_path, CLASSES, input_spec(size, name), {"arguments": {}})
    reference = np.asarray(model(images))
    assert len(set(np.argmax(reference, axis=1))) > 1  # the comparison means something

    assert export.main(["--model", str(model_path), "--format", "onnx", "litert",
                        "--images", str(dataset)]) in (0, None)
    assert capsys.readouterr().out.count(f"on {len(paths)} of {len(paths)} images") == 2
    # EfficientNet's and ConvNeXt's Normalization statistics were graph
    # inputs, ConvNeXt's grouped convolution an XLA call and its GELU Erfc.
    graph = onnx.load(model_path.with_suffix(".onnx")).graph
    assert len(graph.input) == 1
    assert not {node.op_type for node in graph.node} & {"StatefulPartitionedCall", "PartitionedCall", "Erfc"}
    for suffix in (".onnx", ".tflite"):
        runtime, _, export_spec = load_predictor(str(model_path.with_suffix(suffix)))
        probs = predict_kept(runtime, export_spec, paths)
        assert np.array_equal(np.argmax(probs, axis=1), np.argmax(reference, axis=1)), suffix
        assert np.max(np.abs(probs - reference)) < 1e-3, suffix
        if family in REWRITTEN:
            expected = [CLASSES[i] for i in np.argmax(reference, axis=1)]
            assert predicted_without_tensorflow(model_path.with_suffix(suffix), dataset, tmp_path) == expected
    keras.utils.clear_session(free_memory=True)


# The families whose exports go through rewrite.py: predict.py runs them in a
# process where TensorFlow and Keras cannot be imported.
REWRITTEN = {"efficientnet", "convnext"}


def predicted_without_tensorflow(model, images, tmp_path):
    """predict.py's top-1 labels for the images in `images`, in order."""
    blocker = tmp_path / "blocked"
    for package in ("tensorflow", "keras"):
        (blocker / package).mkdir(parents=True, exist_ok=True)
        (blocker / package / "__init__.py").write_text(f"raise ImportError('{package} is blocked')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT)]))
    result = subprocess.run([sys.executable, str(ROOT / "predict.py"), "--model", str(model), "--image",
                             str(images), "--no-annotate"], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return [line.split("\t")[1] for line in result.stdout.splitlines()]


def test_a_model_without_such_layers_is_exported_as_it_is():
    import keras

    from pyimagesearch.export.rewrite import exportable_model

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten()])
    assert exportable_model(model) is model


@pytest.mark.parametrize("epochs, fitted", [(1, 0), (2, 1), (3, 1), (4, 2), (25, 2)])
def test_the_default_warmup_fits_short_runs(epochs, fitted, capsys):
    assert warmup_epochs_for(None, epochs) == fitted
    note = capsys.readouterr().out
    assert (f"--warmup-epochs {fitted} instead of the default" in note) == (fitted < DEFAULT_WARMUP_EPOCHS)


def test_a_warmup_the_user_gave_must_fit():
    assert warmup_epochs_for(2, 3) == 2 and warmup_epochs_for(0, 1) == 0
    with pytest.raises(UserError, match=r"below --epochs \(2\), got 2"):
        warmup_epochs_for(2, 2)


def test_a_two_epoch_run_starts_without_warmup_flag(dataset, tmp_path, capsys):
    model = tmp_path / "ft.keras"
    assert fine_tune.main(["--dataset", str(dataset), "--model", str(model), "--alpha", "0.25",
                           "--weights", "none", "--size", "32", "--batch-size", "8", "--epochs", "2"]) == 0
    assert "[NOTE] --warmup-epochs 1 instead of the default 2" in capsys.readouterr().out
    phases = json.loads(model.with_suffix(".json").read_text())["run"]["phases"]
    assert [p["epochs"] for p in phases] == [[1, 1], [2, 2]]
