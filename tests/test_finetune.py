"""fine_tune.py: a pretrained backbone with a new head, trained in two phases
through the shared run engine; its preprocessing travels inside the model."""

import json
import os
import signal
import warnings

import cv2
import keras
import numpy as np
import pytest
from conftest import SHARED_DATA, assert_clean_failure, make_colour_dataset, needs_shared, run_script

import fine_tune
from pyimagesearch.training import run
from pyimagesearch.transfer.backbones import preprocess_function
from pyimagesearch.transfer.finetune import (
    backbone_of,
    build_model,
    fine_tuning_phases,
    preprocessing_layer,
    set_unfrozen,
)

WEIGHTS = SHARED_DATA / "weights" / "mobilenet_2_5_224_tf_no_top.h5"
TINY = ["--alpha", "0.25", "--weights", "none", "--size", "32", "--batch-size", "8"]


def copy(variable):
    return np.array(keras.ops.convert_to_numpy(variable), copy=True)


def count(weights):
    return int(sum(np.prod(w.shape) for w in weights))


@pytest.mark.parametrize("backbone", ["mobilenet", "resnet50", "densenet121", "efficientnetb0"])
def test_the_preprocessing_layer_is_the_backbones_preprocess_input_on_bgr_images(backbone):
    # tf (x / 127.5 - 1), caffe (BGR, mean), torch (mean, std) and none (identity) modes.
    images = np.random.default_rng(1).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    expected = preprocess_function(backbone)(images[..., ::-1].astype(np.float32))
    got = np.asarray(preprocessing_layer(backbone)(images.astype(np.float32)))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_freezing_per_phase_and_batchnorm_in_inference_mode():
    model = build_model("mobilenet", None, 32, alpha=0.25, classes=3)
    base = backbone_of(model)
    head = [model.get_layer("head_softmax")]
    phases = fine_tuning_phases("adam", "adam", warmup_epochs=1, epochs=3, unfreeze=10)

    phases[0].prepare(model)
    assert count(model.trainable_weights) == count(head[0].weights) == 256 * 3 + 3
    phases[1].prepare(model)
    top = [w for layer in base.layers[-10:] for w in layer.trainable_weights]
    assert count(model.trainable_weights) == count(top) + 256 * 3 + 3 > 256 * 3 + 3
    set_unfrozen(model, "all")
    trainable = count(model.trainable_weights)
    assert trainable == count(base.trainable_weights) + 771 > 100_000
    assert not model.get_layer("preprocess_input").trainable_weights  # fixed in every phase


@needs_shared
def test_batchnorm_statistics_stay_while_the_unfrozen_backbone_trains():
    # Real weights: a random MobileNet's ReLU6 units saturate without
    # normalisation, and its gradients vanish.
    model = build_model("mobilenet", str(WEIGHTS), 32, alpha=0.25, classes=3)
    base = backbone_of(model)
    set_unfrozen(model, "all")
    # One training step of the whole model: the weights move, the BN moving
    # statistics do not (they would, on every batch, in training mode).
    bn = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    stats = [copy(v) for layer in bn for v in (layer.moving_mean, layer.moving_variance)]
    conv = copy(base.get_layer("conv_pw_13").kernel)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype(np.float32)
    model.train_on_batch(x, np.arange(8) % 3)
    assert not np.array_equal(copy(base.get_layer("conv_pw_13").kernel), conv)
    after = [copy(v) for layer in bn for v in (layer.moving_mean, layer.moving_variance)]
    assert all(np.array_equal(a, b) for a, b in zip(stats, after))


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    root = tmp_path_factory.mktemp("finetune")
    data = make_colour_dataset(root / "data", per_class=12, size=(40, 48))
    model = root / "out" / "ft.keras"
    code = fine_tune.main(["--dataset", str(data), "--model", str(model), *TINY, "--epochs", "3",
                           "--warmup-epochs", "1"])
    assert code == 0
    return data, model


def test_a_run_writes_every_output_with_both_phases(finetuned):
    _, model = finetuned
    info = json.loads(model.with_suffix(".json").read_text())
    run_info, spec = info["run"], info["input"]
    assert spec["width"] == 32 and spec["scale"] == 1.0 and spec["mean"] is None
    assert spec["channel_order"] == "BGR" and "mobilenet preprocess_input" in spec["preprocessing"]
    assert run_info["architecture"] == "mobilenet-finetuned" and run_info["epochs_run"] == 3
    head, tune = run_info["phases"]
    assert head["name"] == "head" and head["epochs"] == [1, 1] and head["trainable_weights"] == 771
    assert head["learning_rate"] == "0.005"
    assert tune["epochs"] == [2, 3] and tune["trainable_weights"] > 100_000
    assert tune["learning_rate"] == "CosineDecay from 0.0001"
    assert run_info["test_mirror_average"] is True and "classification_report" in run_info
    history = json.loads((model.parent / "ft_history.json").read_text())
    assert len(history["loss"]) == 3
    for suffix in ("_labels.json", "_plot.png", "_confusion.png", "_history.csv"):
        assert (model.parent / f"ft{suffix}").exists()
    assert not (model.parent / "ft_backup").exists()


@needs_shared
def test_predict_reproduces_the_training_preprocessing(tmp_path):
    # Real weights: a random MobileNet with its BatchNormalization in
    # inference mode gives (nearly) the same output for every image.
    data = make_colour_dataset(tmp_path / "data", per_class=6, size=(40, 48))
    model_path = tmp_path / "ft.keras"
    assert fine_tune.main(["--dataset", str(data), "--model", str(model_path), *TINY[:2],
                           "--weights", str(WEIGHTS), "--size", "32", "--epochs", "2",
                           "--warmup-epochs", "1", "--batch-size", "8"]) == 0
    images = [data / name / f"{name}_001.png" for name in ("blue", "green", "red")]
    model = keras.models.load_model(model_path, safe_mode=True, compile=False)
    pixels = np.stack([cv2.resize(cv2.imread(str(image)), (32, 32), interpolation=cv2.INTER_AREA)
                       for image in images])
    in_process = np.asarray(model(pixels.astype(np.float32)))
    assert np.ptp(in_process, axis=0).max() > 1e-3  # the images get different outputs
    result = run_script("predict.py", "--model", model_path, "--image", *images, "--top-k", "3",
                        "--no-annotate")
    assert result.returncode == 0, result.stderr
    names = json.loads(model_path.with_suffix(".json").read_text())["class_names"]
    for line, expected in zip(result.stdout.strip().splitlines(), in_process):
        fields = line.split("\t")
        printed = {fields[i]: float(fields[i + 1]) for i in range(1, len(fields), 2)}
        for name, p in zip(names, expected):
            assert printed[name] == pytest.approx(p, abs=1e-4)


class InterruptAfter(run.TrainingMonitor):
    """The run's TrainingMonitor, and a Ctrl-C once `epoch` has been written."""
    epoch = None

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("stop_after", [2, 3])  # at the phase switch, and inside phase 2
def test_resume_across_the_phase_switch(stop_after, tmp_path, monkeypatch, capsys):
    data = make_colour_dataset(tmp_path / "data", per_class=8, size=(40, 48))
    model = tmp_path / "ft.keras"
    args = ["--dataset", str(data), "--model", str(model), *TINY, "--epochs", "4",
            "--warmup-epochs", "2"]
    monkeypatch.setattr(InterruptAfter, "epoch", stop_after)
    monkeypatch.setattr(run, "TrainingMonitor", InterruptAfter)
    assert fine_tune.main(args) == 130
    assert f"--resume continues from epoch {stop_after}" in capsys.readouterr().err
    monkeypatch.setattr(InterruptAfter, "epoch", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fine_tune.main([*args, "--resume"]) == 0
    # The saved optimizer state is the phase's own: Keras restores all of it.
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    out = capsys.readouterr().out
    assert f"resuming after epoch {stop_after}" in out and "phase 1/2" not in out
    run_info = json.loads(model.with_suffix(".json").read_text())["run"]
    assert run_info["resumed_from_epoch"] == stop_after and run_info["epochs_run"] == 4
    assert [p["epochs"] for p in run_info["phases"]] == [[stop_after + 1, 4]]
    assert run_info["phases"][0]["trainable_weights"] > 100_000
    assert len(json.loads((tmp_path / "ft_history.json").read_text())["loss"]) == 4
    assert not (tmp_path / "ft_backup").exists()


@pytest.mark.parametrize("flags, fragments", [
    (["--unfreeze", "half"], ["--unfreeze", "'all', 'none' or a number"]),
    (["--warmup-epochs", "5", "--epochs", "5"], ["--warmup-epochs", "below --epochs (5)"]),
    (["--fine-tune-lr", "0"], ["--fine-tune-lr must be a positive number"]),
    (["--dropout", "1"], ["--dropout must be at least 0 and below 1"]),
    (["--backbone", "resnet50", "--alpha", "0.5"], ["--alpha applies to the MobileNet"]),
    (["--weights", "missing.h5"], ["missing.h5: weights file not found"]),
])
def test_bad_flags_are_one_line_errors(flags, fragments, colour_dataset, tmp_path):
    result = run_script("fine_tune.py", "--dataset", colour_dataset, "--model", tmp_path / "m.keras",
                        *flags)
    assert_clean_failure(result, 2, *fragments)
    assert not list(tmp_path.glob("m*"))


def test_imagenet_weights_offline_name_the_file_to_obtain(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # no cached weights
    data = make_colour_dataset(tmp_path / "data", per_class=2)
    result = run_script("fine_tune.py", "--dataset", data, "--model", tmp_path / "m.keras",
                        "--alpha", "0.25", "--weights", "imagenet", timeout=120)
    if result.returncode == 0:
        pytest.skip("this machine can download the weights")
    assert_clean_failure(result, 1, "mobilenet_2_5_224_tf_no_top.h5", "--weights")
    assert not (tmp_path / "m.keras").exists() and not (tmp_path / "m_backup").exists()
