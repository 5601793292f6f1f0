"""Train through the real command-line scripts on a tiny generated dataset,
then classify new images with predict.py."""

import csv
import json

import cv2
import numpy as np
import pytest
from conftest import CLASS_COLOURS, assert_clean_failure, make_colour_dataset, make_image, run_script


@pytest.fixture(scope="module")
def trained_mlp(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mlp")
    dataset = make_colour_dataset(tmp / "dataset", per_class=20)
    model = tmp / "out" / "simple_nn.keras"
    result = run_script("train_simple_nn.py", "--dataset", dataset, "--model", model, "--size", 8,
                        "--epochs", 40, "--lr", 0.1, "--batch-size", 8, "--patience", 0)
    assert result.returncode == 0, result.stderr
    return tmp, model, result


def test_training_writes_every_output_and_a_complete_sidecar(trained_mlp):
    _, model, result = trained_mlp
    out = model.parent
    for name in ("simple_nn.keras", "simple_nn.json", "simple_nn_labels.json", "simple_nn_plot.png",
                 "simple_nn_history.csv", "simple_nn_history.json", "simple_nn_confusion.png"):
        assert (out / name).stat().st_size > 0, name
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]  # no temporary files left
    info = json.loads((out / "simple_nn.json").read_text())
    assert info["class_names"] == sorted(CLASS_COLOURS)
    assert info["input"]["width"] == 8 and info["input"]["flatten"] is True
    assert info["input"]["channel_order"] == "BGR"
    run = info["run"]
    assert run["epochs_run"] == 40 and run["arguments"]["epochs"] == 40
    assert run["test_images"] == 15 and run["train_images"] + run["val_images"] == 45
    assert run["test_accuracy"] >= 0.9  # colours are easy; a broken pipeline gets ~0.33
    assert set(run["classification_report"]) >= set(CLASS_COLOURS)
    assert json.loads((out / "simple_nn_labels.json").read_text()) == sorted(CLASS_COLOURS)
    with open(out / "simple_nn_history.csv") as f:
        assert len(list(csv.DictReader(f))) == 40
    assert "accuracy" in result.stdout and "test accuracy" in result.stdout


def test_predict_classifies_unseen_images_from_a_folder(trained_mlp, tmp_path):
    _, model, _ = trained_mlp
    rng = np.random.default_rng(123)
    for name, colour in CLASS_COLOURS.items():
        cv2.imwrite(str(tmp_path / f"new_{name}.jpg"), make_image(colour, (60, 50), rng))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    result = run_script("predict.py", "--model", model, "--image", tmp_path, "--top-k", 2,
                        "--output", tmp_path / "annotated", "--csv", tmp_path / "pred.csv")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert len(rows) == 3
    for path, label1, prob1, label2, prob2 in rows:
        assert path.endswith(f"new_{label1}.jpg")
        assert 0 <= float(prob2) <= float(prob1) <= 1
    assert "skipped" in result.stderr and "broken.jpg" in result.stderr
    assert len(list((tmp_path / "annotated").iterdir())) == 3
    with open(tmp_path / "pred.csv") as f:
        assert [r["label1"] for r in csv.DictReader(f)] == [r[1] for r in rows]


def test_train_vgg_in_process_with_legacy_model_name(tmp_path, capsys):
    import train_vgg

    dataset = make_colour_dataset(tmp_path / "dataset", per_class=8, size=(20, 20))
    code = train_vgg.main(["--dataset", str(dataset), "--model", str(tmp_path / "vgg.model"),
                           "--label-bin", str(tmp_path / "lb.pickle"), "--size", "16",
                           "--epochs", "2", "--batch-size", "4", "--no-flip"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "writing" in printed and "vgg.keras" in printed
    info = json.loads((tmp_path / "vgg.json").read_text())
    assert info["run"]["architecture"] == "smallvggnet" and info["run"]["epochs_run"] == 2
    assert info["input"]["flatten"] is False and info["input"]["width"] == 16
    assert json.loads((tmp_path / "lb.json").read_text()) == sorted(CLASS_COLOURS)
    assert not (tmp_path / "vgg.model").exists() and not (tmp_path / "lb.pickle").exists()

    import keras
    model = keras.models.load_model(tmp_path / "vgg.keras", safe_mode=True)
    assert model.output_shape == (None, 3)


def test_batch_size_larger_than_the_training_set_trains_on_one_batch(tmp_path, capsys):
    import train_simple_nn

    dataset = make_colour_dataset(tmp_path / "dataset", per_class=6, size=(8, 8))
    code = train_simple_nn.main(["--dataset", str(dataset), "--model", str(tmp_path / "nn.keras"),
                                 "--size", "8", "--epochs", "2", "--batch-size", "500"])
    assert code == 0
    run = json.loads((tmp_path / "nn.json").read_text())["run"]
    printed = capsys.readouterr().out
    assert (f"--batch-size 500 is larger than the {run['train_images']} training images; "
            "using one batch of all of them") in printed
    assert run["epochs_run"] == 2
    history = json.loads((tmp_path / "nn_history.json").read_text())
    assert len(history["loss"]) == 2


@pytest.mark.parametrize("mix_flag, alpha", [("--mixup", 0.2), ("--cutmix", 1.0)])
def test_train_vgg_with_mixing_label_smoothing_and_no_validation_split(mix_flag, alpha, tmp_path,
                                                                        capsys):
    import keras

    import train_vgg

    dataset = make_colour_dataset(tmp_path / "dataset", per_class=8, size=(20, 20))
    code = train_vgg.main(["--dataset", str(dataset), "--model", str(tmp_path / "vgg.keras"),
                           "--size", "16", "--epochs", "2", "--batch-size", "4", "--no-flip",
                           "--label-smoothing", "0.2", mix_flag, str(alpha), "--val-size", "0"])
    assert code == 0
    assert "EarlyStopping is off and the last epoch's weights are kept" in capsys.readouterr().out
    run = json.loads((tmp_path / "vgg.json").read_text())["run"]
    assert run["arguments"]["label_smoothing"] == 0.2
    assert run["arguments"][mix_flag.strip("-")] == alpha
    assert run["val_images"] == 0 and run["train_images"] + run["test_images"] == 24
    assert run["best_epoch"] == run["epochs_run"] == 2 and not run["early_stopped"]
    model = keras.models.load_model(tmp_path / "vgg.keras", safe_mode=True)
    assert isinstance(model.loss, keras.losses.CategoricalCrossentropy)
    assert model.loss.get_config()["label_smoothing"] == 0.2


def test_predict_refuses_a_file_that_is_not_a_model(tmp_path, colour_dataset):
    fake = tmp_path / "fake.keras"
    fake.write_text("hello")
    result = run_script("predict.py", "--model", fake, "--image", colour_dataset)
    assert_clean_failure(result, 2, "fake.keras", "not a Keras")


def test_predict_with_missing_image(trained_mlp, tmp_path):
    _, model, _ = trained_mlp
    result = run_script("predict.py", "--model", model, "--image", tmp_path / "nope.jpg")
    assert_clean_failure(result, 2, "nope.jpg", "not found")


def test_predict_with_a_size_that_does_not_fit_the_model(trained_mlp, colour_dataset):
    _, model, _ = trained_mlp
    result = run_script("predict.py", "--model", model, "--image", colour_dataset, "--width", 16)
    assert_clean_failure(result, 2, "expects input", "--width")


def test_predict_with_labels_of_another_model(trained_mlp, colour_dataset, tmp_path):
    _, model, _ = trained_mlp
    labels = tmp_path / "labels.json"
    labels.write_text('["a", "b"]')
    result = run_script("predict.py", "--model", model, "--image", colour_dataset, "--label-bin", labels)
    assert_clean_failure(result, 2, "3 outputs", "2 classes")


def test_predict_over_the_bad_input_corpus(trained_mlp, tmp_path):
    from imagecorpus import write_corpus

    _, model, _ = trained_mlp
    expected = write_corpus(tmp_path / "corpus")
    result = run_script("predict.py", "--model", model, "--image", tmp_path / "corpus", "--no-annotate")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    classified = {line.split("\t")[0] for line in result.stdout.strip().splitlines()}
    root = str(tmp_path / "corpus")
    assert {p[len(root) + 1:] for p in classified} == set(expected["good"])
    for name, fragment in expected["bad"].items():
        line = next(x for x in result.stderr.splitlines() if x.startswith(f"skipped {root}/{name}:"))
        assert fragment in line, line
