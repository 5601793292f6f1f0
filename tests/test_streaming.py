"""Streamed and in-memory training see the same data: the same split, the
same images in each batch (each epoch a permutation of the training part),
the same trained model; and build_hdf5.py's files train the folder trainers."""

import json

import numpy as np
import pytest
from conftest import make_colour_dataset, run_script

from pyimagesearch.datasets import list_images


def distinct_dataset(root, per_class=10, size=(12, 12)):
    """A colour dataset in which every image differs (noise on each)."""
    return make_colour_dataset(root, per_class=per_class, size=size)


def load(root, mode, cache_dir, seed=7):
    from pyimagesearch.training.sources import Storage, load_split

    paths, labels = list_images(root, seed=seed)
    return load_split(str(root), paths, labels, 8, 8, seed=seed, test_size=0.25, val_size=0.2,
                      storage=Storage(mode, str(cache_dir)))


def test_streamed_split_is_the_in_memory_split(tmp_path):
    root = distinct_dataset(tmp_path / "d")
    memory, stream = load(root, "memory", tmp_path / "c"), load(root, "stream", tmp_path / "c")
    assert memory.data["mode"] == "memory" and stream.data["mode"] == "stream"
    for a, b in ((memory.train, stream.train), (memory.val, stream.val), (memory.test, stream.test)):
        assert a.paths == b.paths
        assert np.array_equal(a.labels, b.labels)
        assert np.array_equal(a.read(), b.read())
    # The streamed images are read from the cache file, not held.
    assert stream.data["cache"].endswith(".hdf5")


def epoch_images(ds):
    return np.concatenate([np.asarray(x) for x, _ in ds])


def test_each_epoch_feeds_a_permutation_of_the_training_part_streamed_or_not(tmp_path):
    from pyimagesearch.training.data import input_spec_for, part_dataset

    root = distinct_dataset(tmp_path / "d", per_class=12)
    memory, stream = load(root, "memory", tmp_path / "c"), load(root, "stream", tmp_path / "c")
    spec = dict(input_spec_for(8, 8), scale=1.0)  # model input = the uint8 pixels as floats
    feeds = [part_dataset(split.train, 5, spec, shuffle=True, seed=3) for split in (memory, stream)]
    expected = memory.train.read().astype(np.float32)
    key = sorted(image.tobytes() for image in expected)
    orders = []
    for _ in range(2):
        memory_epoch, stream_epoch = (epoch_images(ds) for ds in feeds)
        assert np.array_equal(memory_epoch, stream_epoch)
        # No image twice, none missing.
        assert sorted(image.tobytes() for image in memory_epoch) == key
        orders.append(memory_epoch)
    assert not np.array_equal(*orders), "the second epoch should be shuffled anew"


def test_a_streamed_run_trains_the_same_model_and_records_it(tmp_path):
    root = distinct_dataset(tmp_path / "d", per_class=10, size=(8, 8))
    runs = {}
    for mode in ("memory", "stream"):
        out = tmp_path / mode
        result = run_script("train_vgg.py", "--dataset", root, "--size", 8, "--epochs", 2,
                            "--batch-size", 4, "--data", mode, "--cache-dir", tmp_path / "cache",
                            # Random augmentation in parallel map calls draws in no fixed order.
                            "--augmentation", "none", "--no-flip",
                            "--model", out / "m.keras", "--top-losses", 4)
        assert result.returncode == 0, result.stderr
        runs[mode] = json.loads((out / "m.json").read_text())["run"]
        history = json.loads((out / "m_history.json").read_text())
        runs[mode]["loss_history"] = history["loss"]
        assert (out / "m_report.html").exists() and (out / "m_top_losses.png").exists()
    memory, stream = runs["memory"], runs["stream"]
    assert memory["data"]["mode"] == "memory" and stream["data"]["mode"] == "stream"
    assert "--data stream" in stream["data"]["why"]
    np.testing.assert_allclose(stream["loss_history"], memory["loss_history"], rtol=1e-5)
    assert stream["test_accuracy"] == memory["test_accuracy"]
    assert stream["test_images"] == memory["test_images"] == 8


@pytest.mark.parametrize("mode", ["memory", "stream"])
def test_train_vgg_trains_on_build_hdf5_files(mode, tmp_path):
    root = distinct_dataset(tmp_path / "d", per_class=10, size=(20, 20))
    built = run_script("build_hdf5.py", "--dataset", root, "--output", tmp_path / "h", "--size", 16)
    assert built.returncode == 0, built.stderr
    out = tmp_path / "out"
    result = run_script("train_vgg.py", "--hdf5", tmp_path / "h", "--size", 8, "--epochs", 1,
                        "--batch-size", 4, "--data", mode, "--model", out / "m.keras")
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "m.json").read_text())["run"]
    summary = json.loads((tmp_path / "h" / "summary.json").read_text())
    assert run["data"]["hdf5"] == str(tmp_path / "h")
    assert run["data"]["mode"] == mode
    counts = {split: sum(summary["counts"][split].values()) for split in ("train", "val", "test")}
    assert (run["train_images"], run["val_images"], run["test_images"]) == (
        counts["train"], counts["val"], counts["test"])
