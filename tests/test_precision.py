"""--precision: the policy each value picks, float32 softmax under mixed
policies, and models trained mixed that save, load and predict as float32."""

import json

import numpy as np
import pytest
from conftest import assert_clean_failure, make_colour_dataset, read_colour_dataset, run_script

from pyimagesearch.training.precision import choose_precision, cpu_flags, float32_copy


@pytest.mark.parametrize("requested", ["float32", "mixed_bfloat16", "mixed_float16"])
def test_explicit_precisions_are_used_as_given(requested):
    assert choose_precision(requested, flags=set(), gpus=[])[0] == requested


@pytest.mark.parametrize("flags, gpus, expected", [
    ({"avx512f", "avx512_bf16"}, [], "mixed_bfloat16"),
    ({"amx_tile", "amx_bf16"}, [], "mixed_bfloat16"),
    ({"avx2", "avx512f"}, [], "float32"),
    (set(), [(8, 0), (7, 5)], "mixed_float16"),
    ({"avx512_bf16"}, [(7, 0), (6, 1)], "float32"),
])
def test_auto_picks_by_hardware(flags, gpus, expected):
    assert choose_precision("auto", flags=flags, gpus=gpus)[0] == expected


def test_auto_on_this_machine_reads_the_real_cpu_flags():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        text = f.read()
    native = "avx512_bf16" in text.split() or "amx_bf16" in text.split()
    assert ("avx512_bf16" in cpu_flags()) == ("avx512_bf16" in text.split())
    # No GPU on the test machines: the CPU decides.
    assert choose_precision("auto")[0] == ("mixed_bfloat16" if native else "float32")


def test_cpu_flags_of_a_machine_without_cpuinfo(tmp_path):
    assert cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_softmax_and_probabilities_stay_float32_under_mixed_policies(policy):
    import keras

    from pyimagesearch.nn import MLP
    from pyimagesearch.nn.conv import AlexNet, SmallVGGNet

    keras.mixed_precision.set_dtype_policy(policy)
    try:
        models = [(MLP.build(12, 3, hidden=(8,)), (2, 12)),
                  (SmallVGGNet.build(16, 16, 3, 3), (2, 16, 16, 3)),
                  (AlexNet.build(16, 16, 3, 3, fc_units=8), (2, 16, 16, 3))]
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    for model, shape in models:
        assert model.layers[0].compute_dtype == policy.split("_")[1]  # the policy took effect
        assert model.layers[-1].compute_dtype == "float32"
        probs = model(np.random.default_rng(0).random(shape, dtype=np.float32))
        assert keras.backend.standardize_dtype(probs.dtype) == "float32"
        np.testing.assert_allclose(np.asarray(probs).sum(axis=1), 1, rtol=1e-5)


def test_a_model_trained_mixed_is_saved_as_float32_and_predicts_the_same(tmp_path):
    import keras

    from pyimagesearch.nn.conv import SmallVGGNet

    images, labels = read_colour_dataset(tmp_path / "data", per_class=8, size=(16, 16))
    x = images.astype("float32") / 255
    keras.utils.set_random_seed(1)
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = SmallVGGNet.build(16, 16, 3, 3)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    model.compile(optimizer="adamw", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, labels, epochs=3, batch_size=8, verbose=0)
    copy = float32_copy(model)
    copy.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    assert {w.dtype for w in loaded.weights} == {"float32"}
    mixed, saved = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    assert (mixed.argmax(axis=1) == saved.argmax(axis=1)).all()
    np.testing.assert_allclose(saved, mixed, atol=0.05)  # bfloat16 keeps ~3 significant digits
    np.testing.assert_allclose(saved, copy.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # The optimizer's state came along: training the copy continues from the same step.
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) > 0


@pytest.mark.parametrize("script, precision, extra", [
    ("train_vgg", "mixed_bfloat16", ["--size", "16"]),
    ("train_simple_nn", "mixed_float16", ["--size", "8"]),
])
def test_trainers_record_the_precision_and_save_float32(script, precision, extra, tmp_path, capsys):
    import importlib

    import keras

    dataset = make_colour_dataset(tmp_path / "dataset", per_class=8, size=(20, 20))
    code = importlib.import_module(script).main([
        "--dataset", str(dataset), "--model", str(tmp_path / "m.keras"), "--epochs", "1",
        "--batch-size", "8", "--precision", precision, *extra])
    assert code == 0
    assert f"precision: {precision}" in capsys.readouterr().out
    run = json.loads((tmp_path / "m.json").read_text())["run"]
    assert run["precision"] == precision and run["arguments"]["precision"] == precision
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}


@pytest.mark.parametrize("flags", [["--precision", "float32"], []])
def test_the_default_is_auto_and_float32_is_kept_when_asked(flags, tmp_path):
    import train_simple_nn
    from pyimagesearch.training.precision import choose_precision

    dataset = make_colour_dataset(tmp_path / "dataset", per_class=6, size=(8, 8))
    assert train_simple_nn.main(["--dataset", str(dataset), "--model", str(tmp_path / "m.keras"),
                                 "--size", "8", "--epochs", "1", *flags]) == 0
    run = json.loads((tmp_path / "m.json").read_text())["run"]
    assert run["precision"] == (flags[1] if flags else choose_precision("auto")[0])
    assert run["arguments"]["precision"] == (flags[1] if flags else "auto")


@pytest.mark.parametrize("script", ["train_simple_nn.py", "train_vgg.py", "train_alexnet.py"])
def test_unknown_precision_is_a_one_line_error(script, colour_dataset):
    result = run_script(script, "--dataset", colour_dataset, "--precision", "float8")
    assert_clean_failure(result, 2, "--precision", "float8", "mixed_bfloat16")


def test_best_model_checkpoint_saves_a_mixed_model_as_float32(tmp_path):
    """The engine's --checkpoint best saves through BestModelCheckpoint after
    every improving epoch, in float32 (training.run passes float32_copy)."""
    import keras

    from pyimagesearch.callbacks.bestmodel import BestModelCheckpoint
    from pyimagesearch.nn import MLP
    from pyimagesearch.training.precision import float32_copy, with_policy

    images, labels = read_colour_dataset(tmp_path / "data", per_class=6, size=(4, 4))
    x = images.reshape(len(images), -1).astype("float32") / 255
    model = with_policy(MLP.build(48, 3, hidden=(16,)), "mixed_bfloat16")
    assert model.layers[0].compute_dtype == "bfloat16"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    # As training.run gives it: the callbacks layer does not import training.
    checkpoint = BestModelCheckpoint(str(tmp_path / "best.keras"), verbose=0, saved_form=float32_copy)
    model.fit(x, labels, validation_data=(x, labels), epochs=1, verbose=0, callbacks=[checkpoint])
    loaded = keras.models.load_model(tmp_path / "best.keras", safe_mode=True)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}


def test_a_nested_backbone_computes_in_the_mixed_policy_too():
    """A fine-tuned model holds its backbone as one nested model: the copy
    for training must compute in bfloat16 inside it too (not only in the
    head), and the float32 copy must restore every layer."""
    from pyimagesearch.training.precision import _compute_layers, training_policy, with_policy
    from pyimagesearch.transfer.finetune import build_model

    model = build_model("mobilenet", None, 32, alpha=0.25, classes=3)
    mixed = with_policy(model, "mixed_bfloat16")
    inside = list(_compute_layers(mixed))
    assert len(inside) > 50  # the backbone's layers, opened up
    assert {layer.dtype_policy.name for layer in inside[:-1]} == {"mixed_bfloat16"}
    assert inside[-1].dtype_policy.name == "float32" and training_policy(mixed) == "mixed_bfloat16"
    restored = float32_copy(mixed)
    assert {layer.dtype_policy.name for layer in _compute_layers(restored)} == {"float32"}
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    assert np.allclose(np.asarray(restored(images)), np.asarray(model(images)), atol=1e-6)
