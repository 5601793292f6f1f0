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


# Trains for one epoch at lr 0 through the engine (in memory, with sparse and
# with one-hot labels, and from HDF5) under --distribute `argv[1]`, and prints
# for each input the loss Keras reported and the weighted and plain means
# computed in numpy from the model's weights. A separate process: the
# logical CPU devices of a mirrored run must be set before TensorFlow starts.
ENGINE_PROGRAM = r"""
import json, os, sys
import numpy as np
from pyimagesearch.datasets.classweights import class_weights
from pyimagesearch.io import HDF5DatasetWriter
from pyimagesearch.training import distribute
from pyimagesearch.training.config import RunConfig
from pyimagesearch.training.data import Split, input_spec_for
from pyimagesearch.modelfiles.paths import OutputPaths

choice, folder = sys.argv[1], sys.argv[2]
dist = distribute.setup(choice, cpu_devices=2 if choice == "mirrored" else None)
import keras
from pyimagesearch.training.run import fit_and_evaluate
from pyimagesearch.training.sources import Storage, load_hdf5_split

labels = np.array([0] * 12 + [1] * 3 + [2])
rng = np.random.default_rng(0)
images = rng.integers(0, 256, (16, 4, 4, 3), dtype=np.uint8)
names = ["a", "b", "c"]
weights = np.asarray(class_weights(labels, 3))

def build(rescale):
    keras.utils.set_random_seed(0)
    with dist.scope():
        layers = [keras.Input((4, 4, 3))] + ([keras.layers.Rescaling(1 / 255.0)] if rescale else [])
        model = keras.Sequential(layers + [keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
        model.layers[-1].kernel.assign(np.random.default_rng(1).normal(0, 0.3, (48, 3)))
        return model, keras.optimizers.SGD(learning_rate=0.0)

def expected(model, smoothing=0.0):
    dense = model.layers[-1]
    z = images.reshape(16, -1) / 255.0 @ np.asarray(dense.kernel, np.float64) + np.asarray(dense.bias, np.float64)
    target = (1 - smoothing) * np.eye(3)[labels] + smoothing / 3
    top = z.max(axis=1)
    losses = top + np.log(np.exp(z - top[:, None]).sum(axis=1)) - (target * z).sum(axis=1)
    return float(np.mean(weights[labels] * losses)), float(np.mean(losses))

def reported(outputs):
    with open(outputs.history_json) as f:
        return json.load(f)["loss"][0]

results = {}
split = Split.from_arrays(images, labels, images[:0], labels[:0], images[:6], labels[:6], names,
              [], [], [f"test_{i}.png" for i in range(6)])
for case, smoothing in (("memory-sparse", 0.0), ("memory-one-hot", 0.1)):
    model, optimizer = build(rescale=False)
    outputs = OutputPaths.from_args(os.path.join(folder, case, "m.keras"))
    config = RunConfig(epochs=1, batch_size=4, patience=0, class_weight="balanced",
                       label_smoothing=smoothing, precision="float32")
    run = fit_and_evaluate(model, split, optimizer, input_spec_for(4, 4), outputs, config, dist=dist)
    results[case] = [reported(outputs), *expected(model, smoothing), run["class_weight"]]

hdf5 = os.path.join(folder, "h")
os.makedirs(hdf5)
for name in ("train", "val"):
    with HDF5DatasetWriter(images.shape, os.path.join(hdf5, name + ".hdf5")) as writer:
        writer.store_class_labels(names)
        writer.add(images, labels)
model, optimizer = build(rescale=False)
outputs = OutputPaths.from_args(os.path.join(folder, "hdf5", "m.keras"))
run = fit_and_evaluate(model, load_hdf5_split(hdf5, 4, 4, Storage("stream")), optimizer,
                       input_spec_for(4, 4), outputs,
                       RunConfig(epochs=1, batch_size=4, patience=0, class_weight="balanced",
                                 precision="float32"), dist=dist)
results["hdf5"] = [reported(outputs), *expected(model), run["class_weight"]]
print("RESULTS " + json.dumps(results))
"""


@pytest.mark.parametrize("choice", ["none", "mirrored"])
def test_every_engine_input_trains_on_the_class_weights(choice, tmp_path):
    import json
    import subprocess
    import sys

    from conftest import ROOT
    env = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", ENGINE_PROGRAM, choice, str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULTS "))
    results = json.loads(line.removeprefix("RESULTS "))
    assert set(results) == {"memory-sparse", "memory-one-hot", "hdf5"}
    for case, (reported, weighted, plain, record) in results.items():
        assert reported == pytest.approx(weighted, rel=1e-4), (case, reported, weighted, plain)
        assert abs(weighted - plain) > 100 * 1e-4 * weighted, case
        assert record == {"mode": "balanced", "weights": pytest.approx({"a": 16 / 36, "b": 16 / 9, "c": 16 / 3})}
    assert "[INFO] class weights (--class-weight balanced): a 0.444, b 1.78, c 5.33" in result.stdout


def test_mixed_labels_weigh_the_mix_of_their_classes():
    from pyimagesearch.training.data import input_spec_for, make_dataset

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 4, 4, 3), dtype=np.uint8)
    weights = class_weights(IMBALANCED, 3)
    for mix in ({"mixup": 0.4}, {"cutmix": 1.0}):
        _, y, w = next(iter(make_dataset(images, IMBALANCED, 16, input_spec_for(4, 4), shuffle=True,
                                         seed=1, one_hot=3, class_weights=weights, **mix)))
        y = np.asarray(y)
        assert not np.allclose(y.max(axis=1), 1)  # really mixed
        np.testing.assert_allclose(np.asarray(w), y @ np.asarray(weights), rtol=1e-5)
    _, y, w = next(iter(make_dataset(images, IMBALANCED, 16, input_spec_for(4, 4), class_weights=weights)))
    np.testing.assert_allclose(np.asarray(w), np.asarray(weights, np.float32)[np.asarray(y)])


def test_trainer_suggests_class_weights_once_and_reports_balanced_metrics(tmp_path):
    import json

    from conftest import make_colour_dataset, run_script

    dataset = make_colour_dataset(tmp_path / "d", per_class=16, size=(8, 8))
    for extra in sorted((dataset / "red").iterdir())[4:]:  # 16, 16 and 4 images
        extra.unlink()
    result = run_script("train_simple_nn.py", "--dataset", dataset, "--model", tmp_path / "m.keras",
                        "--size", 8, "--epochs", 2, "--val-size", 0)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stdout.splitlines() if "--class-weight balanced" in line]
    assert len(notes) == 1 and notes[0].startswith("[NOTE] the classes are imbalanced"), result.stdout
    run = json.loads((tmp_path / "m.json").read_text())["run"]
    assert run["class_weight"] == {"mode": "none", "weights": None}
    assert f"balanced accuracy: {run['test_balanced_accuracy']:.4f}, macro F1: {run['test_macro_f1']:.4f}" \
        in result.stdout
    assert 0 <= run["test_balanced_accuracy"] <= 1 and 0 <= run["test_macro_f1"] <= 1


def test_headline_metrics_weigh_every_class_the_same():
    from pyimagesearch.evaluation.reports import headline_metrics

    # 8 of class 0 all right, 2 of class 1 both wrong: accuracy 0.8 hides class 1.
    y_true = np.array([0] * 8 + [1] * 2)
    y_pred = np.zeros(10, dtype=int)
    values, text = headline_metrics(y_true, y_pred, 2)
    assert values == pytest.approx({"test_accuracy": 0.8, "test_balanced_accuracy": 0.5,
                                    "test_macro_f1": (2 * 0.8 / 1.8 + 0) / 2})
    assert text == "[INFO] test accuracy: 0.8000, balanced accuracy: 0.5000, macro F1: 0.4444"


def test_logistic_regression_is_fitted_with_the_balanced_weights(tmp_path):
    import json

    import h5py
    from conftest import run_script
    from sklearn.linear_model import LogisticRegression

    from pyimagesearch.transfer.classifier import load_classifier

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [60, 20, 8])
    rng.shuffle(labels)
    features = (rng.normal(size=(len(labels), 6)) + 1.5 * np.eye(3, 6)[labels]).astype(np.float32)
    with h5py.File(tmp_path / "f.hdf5", "w") as db:
        db["features"], db["labels"] = features, labels
        db["label_names"] = np.array(["a", "b", "c"], dtype=h5py.string_dtype())
        db["paths"] = np.array([f"{i}.jpg" for i in range(len(labels))], dtype=h5py.string_dtype())
        db.attrs.update({"backbone": "resnet50", "weights": "none", "width": 32, "height": 32})
    result = run_script("train_model.py", "--db", tmp_path / "f.hdf5", "--model", tmp_path / "m.skops",
                        "--jobs", 1, "--c-grid", 1.0, "--class-weight", "balanced")
    assert result.returncode == 0, result.stderr
    run = json.loads((tmp_path / "m.json").read_text())["run"]
    train = labels[:run["train_images"]]
    counts = np.bincount(train, minlength=3)
    expected = len(train) / (3 * counts)
    assert run["class_weight"]["mode"] == "balanced"
    assert list(run["class_weight"]["weights"].values()) == pytest.approx(expected.tolist(), rel=1e-5)
    assert {"test_accuracy", "test_balanced_accuracy", "test_macro_f1"} <= set(run)
    # The saved classifier equals one fitted here with those weights per row.
    saved = load_classifier(str(tmp_path / "m.skops"))[-1]

    def fit(sample_weight):
        return LogisticRegression(C=1.0, max_iter=1000, tol=1e-8).fit(
            features[:len(train)], train, sample_weight=sample_weight).coef_

    np.testing.assert_allclose(saved.coef_, fit(expected[train]), atol=2e-3)
    assert not np.allclose(saved.coef_, fit(None), atol=2e-2)
