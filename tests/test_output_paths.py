"""Where the scripts write: an output folder that cannot be written is one
line and exit code 1 before any work, and a run that replaces an earlier
run's output says so."""

import h5py
import numpy as np
import pytest
from conftest import assert_clean_failure, run_script


@pytest.fixture
def blocker(tmp_path):
    """A regular file: nothing can be created under it, even as root."""
    path = tmp_path / "somefile.txt"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("script, flag, target, extra", [
    ("build_hdf5.py", "--output", "out", ["--dataset", "{data}"]),
    ("predict.py", "--output", "annotated", ["--image", "{data}", "--model", "{tmp}/m.keras"]),
    ("predict.py", "--csv", "out/p.csv", ["--image", "{data}", "--model", "{tmp}/m.keras",
                                         "--no-annotate"]),
    ("extract_features.py", "--output", "out/f.hdf5", ["--dataset", "{data}", "--weights", "none"]),
    ("crop_accuracy.py", "--output", "out/r.json", ["--hdf5", "{tmp}", "--model", "{tmp}/m.keras"]),
    ("train_model.py", "--model", "out/m.skops", ["--db", "{tmp}/f.hdf5"]),
], ids=["build_hdf5", "predict-output", "predict-csv", "extract_features", "crop_accuracy",
        "train_model"])
def test_unwritable_output_folder_is_one_line(script, flag, target, extra, blocker, colour_dataset,
                                              tmp_path):
    args = [a.format(data=colour_dataset, tmp=tmp_path) for a in extra]
    result = run_script(script, *args, flag, blocker / target, timeout=60)
    assert_clean_failure(result, 1, "somefile.txt", "cannot create output folder", flag)


def write_features(path, per_class=10, seed=0):
    """A features file as extract_features.py writes it: three well separated classes."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), per_class)
    rng.shuffle(labels)
    features = (rng.normal(size=(len(labels), 8)) + 4 * np.eye(3, 8)[labels]).astype(np.float32)
    with h5py.File(path, "w") as db:
        db["features"], db["labels"] = features, labels
        db["label_names"] = np.array(["a", "b", "c"], dtype=h5py.string_dtype())
        db["paths"] = np.array([f"{i}.jpg" for i in range(len(labels))], dtype=h5py.string_dtype())
        db.attrs.update({"backbone": "resnet50", "weights": "none", "width": 32, "height": 32})


def test_train_model_says_what_it_replaced(tmp_path):
    write_features(tmp_path / "f.hdf5")
    model = tmp_path / "m.skops"
    args = ["--db", tmp_path / "f.hdf5", "--model", model, "--jobs", 1, "--c-grid", 1.0]
    first = run_script("train_model.py", *args)
    assert first.returncode == 0, first.stderr
    assert "replaced" not in first.stderr
    again = run_script("train_model.py", *args)
    assert again.returncode == 0, again.stderr
    assert f"[NOTE] replaced the previous {model}, {tmp_path / 'm.json'}" in again.stderr


def test_temporaries_left_by_a_killed_run_are_removed(tmp_path):
    import os

    from pyimagesearch.utils.atomic import atomic_path, remove_leftover_temporaries

    model = tmp_path / "m.keras"
    with atomic_path(model) as tmp:  # the name atomic_path really gives its temporary file
        ours = os.path.basename(tmp)
        (tmp_path / ours).write_bytes(b"being written")
        dead = tmp_path / ours.replace(f"-{os.getpid()}.", "-999999999.")
        dead.write_bytes(b"cut off")
        others = [tmp_path / name for name in
                  (".m_labels.tmp-1.json", ".m.tmp-1.json", ".mx.tmp-1.keras", ".m.tmp-x.keras")]
        for other in others:
            other.write_bytes(b"not ours")
        assert remove_leftover_temporaries(model) == [str(dead)]
        assert (tmp_path / ours).exists()  # this process's own is left alone
    assert all(other.exists() for other in others)
