"""The bad-input corpus (tests/imagecorpus.py) through build_hdf5.py and
extract_features.py, run as a user runs them: every good file ends up in the
output under its class, every bad one is skipped and named with its reason,
the class of unreadable files is left out, and the run succeeds."""

import json
import os
from collections import Counter

import h5py
import pytest
from conftest import run_script
from imagecorpus import write_corpus

from pyimagesearch.datasets import read_image
from pyimagesearch.preprocessing import AspectAwarePreprocessor


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus") / "photos"
    return root, write_corpus(root)


def class_of(relative):
    return relative.split("/")[0]


def assert_bad_files_named(stderr, root, expected):
    for name, fragment in expected["bad"].items():
        line = next(x for x in stderr.splitlines() if x.startswith(f"skipped {root}/{name}:"))
        assert fragment in line, line
    assert f"skipped {len(expected['bad'])} of " in stderr
    assert "warning: class 'broken_class' has no readable images and is left out" in stderr
    assert "empty_class holds no images" in stderr


def test_build_hdf5_over_the_corpus(corpus, tmp_path):
    root, expected = corpus
    out = tmp_path / "hdf5"
    # 13 readable images of 2 classes: counts leave one of each class for val and test.
    result = run_script("build_hdf5.py", "--dataset", root, "--output", out, "--size", 16,
                        "--test-size", 4, "--val-size", 2)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert_bad_files_named(result.stderr, root, expected)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["class_names"] == ["cats", "dogs"]
    assert summary["classes_left_out"] == ["broken_class"]
    per_class = Counter(class_of(name) for name in expected["good"])
    assert {c: sum(summary["counts"][s][c] for s in summary["counts"]) for c in per_class} == per_class
    assert {s: sum(summary["counts"][s].values()) for s in summary["counts"]} == \
        {"train": len(expected["good"]) - 6, "val": 2, "test": 4}
    skipped = {os.path.relpath(s["path"], root): s["reason"] for s in summary["skipped"]}
    assert set(skipped) == set(expected["bad"])
    for name, fragment in expected["bad"].items():
        assert fragment in skipped[name], (name, skipped[name])

    # The rows are exactly the good files' pixels (decoded as the build
    # decodes them), each under its own class, whatever split it landed in.
    resize = AspectAwarePreprocessor(16, 16)
    want = Counter((class_of(name), resize.preprocess(read_image(root / name, min_size=16)).tobytes())
                   for name in expected["good"])
    got = Counter()
    for split in ("train", "val", "test"):
        with h5py.File(out / f"{split}.hdf5", "r") as db:
            names = list(db["label_names"].asstr()[:])
            assert names == ["cats", "dogs"]
            for image, label in zip(db["images"][:], db["labels"][:]):
                got[names[label], image.tobytes()] += 1
    assert got == want
    assert sorted(p.name for p in out.iterdir()) == ["mean.json", "summary.json", "test.hdf5",
                                                     "train.hdf5", "val.hdf5"]


def test_extract_features_over_the_corpus(corpus, tmp_path):
    root, expected = corpus
    db = tmp_path / "features.hdf5"
    result = run_script("extract_features.py", "--dataset", root, "--output", db, "--backbone",
                        "resnet50", "--weights", "none", "--size", 32, "--batch-size", 4,
                        "--no-flip")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert_bad_files_named(result.stderr, root, expected)
    assert f"wrote {len(expected['good'])} rows" in result.stdout
    with h5py.File(db, "r") as f:
        names = list(f["label_names"].asstr()[:])
        paths = [os.path.relpath(p, root) for p in f["paths"].asstr()[:]]
        labels = f["labels"][:]
        assert f["features"].shape == (len(expected["good"]), 2048)
    assert names == ["cats", "dogs"]  # the class of unreadable files is left out
    assert sorted(paths) == sorted(expected["good"])
    assert [names[i] for i in labels] == [class_of(p) for p in paths]
    assert sorted(os.listdir(tmp_path)) == ["features.hdf5"]
