"""build_hdf5.py, train_alexnet.py and crop_accuracy.py as a user runs them."""

import csv
import json

import cv2
import h5py
import numpy as np
import pytest
from conftest import assert_clean_failure, make_colour_dataset, run_script

BGR = {"a": (10, 20, 30), "b": (40, 50, 60), "c": (70, 80, 90)}


def constant_dataset(root, per_class=8):
    for name, colour in BGR.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(root / name / f"{name}{i}.png"), np.full((30, 50, 3), colour, np.uint8))
    (root / "a" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return root


def test_build_writes_splits_mean_and_summary(tmp_path):
    dataset = constant_dataset(tmp_path / "ds")
    out = tmp_path / "hdf5"
    result = run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", "24x16",
                        "--test-size", 6, "--val-size", 3)
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stderr and "broken.jpg" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    counts = summary["counts"]
    assert {c: sum(counts[s][c] for s in counts) for c in BGR} == {"a": 8, "b": 8, "c": 8}
    # The 24 readable files are split; the unreadable one takes no place in any split.
    assert {s: sum(counts[s].values()) for s in counts} == {"train": 15, "val": 3, "test": 6}
    # Means over the training split only, R first; each image is one colour.
    n = sum(counts["train"].values())
    expected = {ch: sum(counts["train"][c] * BGR[c][i] for c in BGR) / n
                for i, ch in enumerate("BGR")}
    assert json.loads((out / "mean.json").read_text()) == pytest.approx(expected, abs=1e-9)
    assert [s["path"].endswith("broken.jpg") for s in summary["skipped"]] == [True]
    seen = 0
    for split in ("train", "val", "test"):
        with h5py.File(out / f"{split}.hdf5", "r") as db:
            images, labels = db["images"][:], db["labels"][:]
            assert images.shape[1:] == (16, 24, 3) and images.dtype == np.uint8
            assert list(db["label_names"].asstr()[:]) == ["a", "b", "c"]
            assert db.attrs["channel_order"] == "BGR" and db.attrs["split"] == split
            for image, label in zip(images, labels):
                assert (image == BGR["abc"[label]]).all()
            seen += len(images)
    assert seen == 24
    assert sorted(p.name for p in out.iterdir()) == ["mean.json", "summary.json", "test.hdf5",
                                                     "train.hdf5", "val.hdf5"]


def test_build_records_each_rows_file(tmp_path):
    # Every file one colour of its own, so a row can only match its own file.
    root = tmp_path / "ds"
    for c, name in enumerate("abc"):
        (root / name).mkdir(parents=True)
        for i in range(7):
            cv2.imwrite(str(root / name / f"{name}{i}.png"),
                        np.full((30, 50, 3), (80 * c + 10 * i, 30 * i, 200 - 50 * c), np.uint8))
    (root / "a" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "hdf5"
    result = run_script("build_hdf5.py", "--dataset", root, "--output", out, "--size", 16,
                        "--test-size", 6, "--val-size", 3)
    assert result.returncode == 0, result.stderr
    seen = []
    for split in ("train", "val", "test"):
        with h5py.File(out / f"{split}.hdf5", "r") as db:
            paths = list(db["paths"].asstr()[:])
            assert len(paths) == len(db["images"])
            for image, label, path in zip(db["images"][:], db["labels"][:], paths):
                assert path.split("/")[0] == "abc"[label]
                assert (image == cv2.imread(str(root / path))[0, 0]).all(), path
            seen += paths
    assert sorted(seen) == sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))


def test_build_refuses_to_overwrite_without_force(tmp_path):
    dataset = make_colour_dataset(tmp_path / "ds", per_class=6)
    out = tmp_path / "hdf5"
    assert run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", 16,
                      "--test-size", 3, "--val-size", 3).returncode == 0
    before = (out / "train.hdf5").read_bytes()
    again = run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", 20)
    assert_clean_failure(again, 2, "train.hdf5 already exists", "--force")
    assert (out / "train.hdf5").read_bytes() == before
    forced = run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", 20,
                        "--test-size", 3, "--val-size", 3, "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"[NOTE] replaced the previous {out / 'train.hdf5'}" in forced.stderr
    with h5py.File(out / "train.hdf5") as db:
        assert db["images"].shape[1:] == (20, 20, 3)


def test_failed_rebuild_keeps_previous_outputs(tmp_path):
    dataset = make_colour_dataset(tmp_path / "ds", per_class=6)
    out = tmp_path / "hdf5"
    assert run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", 16,
                      "--test-size", 3, "--val-size", 3).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for path in dataset.rglob("*.png"):
        path.write_bytes(b"")  # every image now unreadable: the build fails mid-way
    failed = run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", 16,
                        "--test-size", 3, "--val-size", 3, "--force")
    assert_clean_failure(failed, 1, "could be read")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no staging folder left


def test_same_seed_gives_byte_identical_files(tmp_path):
    dataset = make_colour_dataset(tmp_path / "ds", per_class=8, size=(20, 24))

    def build(name, seed):
        out = tmp_path / name
        result = run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", 16,
                            "--test-size", 6, "--val-size", 3, "--seed", seed)
        assert result.returncode == 0, result.stderr
        return {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".hdf5"}

    first, again, other = build("first", 7), build("again", 7), build("other", 8)
    assert sorted(first) == ["test.hdf5", "train.hdf5", "val.hdf5"]
    assert first == again  # no creation times, temporary paths or timings in the files
    assert other["test.hdf5"] != first["test.hdf5"]
    with h5py.File(tmp_path / "first" / "test.hdf5") as a, h5py.File(tmp_path / "other" / "test.hdf5") as b:
        assert a["images"].shape == b["images"].shape  # same sizes, other images
        assert {x.tobytes() for x in a["images"][:]} != {x.tobytes() for x in b["images"][:]}


@pytest.mark.parametrize("script", ["train_alexnet.py", "crop_accuracy.py"])
def test_missing_hdf5_folder_is_one_line(tmp_path, script):
    result = run_script(script, "--hdf5", tmp_path / "nowhere", "--model", tmp_path / "m.keras")
    assert_clean_failure(result, 2, "nowhere: HDF5 folder not found", "build_hdf5.py")


def test_hdf5_without_expected_datasets_is_one_line(tmp_path):
    with h5py.File(tmp_path / "test.hdf5", "w") as db:
        db["features"] = np.zeros((3, 4))
    result = run_script("crop_accuracy.py", "--hdf5", tmp_path, "--model", tmp_path / "m.keras")
    assert_clean_failure(result, 2, "test.hdf5: no 'images' or 'labels' dataset")


def test_alexnet_end_to_end(tmp_path):
    dataset = make_colour_dataset(tmp_path / "ds", per_class=10, size=(44, 52))
    out, model = tmp_path / "hdf5", tmp_path / "model" / "alexnet.keras"
    built = run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", 40,
                       "--test-size", 6, "--val-size", 6)
    assert built.returncode == 0, built.stderr
    trained = run_script("train_alexnet.py", "--hdf5", out, "--model", model, "--size", 32,
                         "--epochs", 2, "--fc-units", 256,
                         "--optimizer", "adamw", "--schedule", "cosine", "--warmup", 1)
    assert trained.returncode == 0, trained.stderr
    # The default --batch-size 64 exceeds the 18 training images: one batch of all.
    assert "--batch-size 64 is larger than the 18 training images" in trained.stdout
    info = json.loads(model.with_suffix(".json").read_text())
    assert info["run"]["arguments"]["optimizer"] == "adamw"
    assert info["run"]["arguments"]["lr"] == 0.002  # adamw's default rate
    means = json.loads((out / "mean.json").read_text())
    assert info["input"]["mean"] == pytest.approx([means["B"], means["G"], means["R"]])
    assert info["input"]["crop"] == 32 and info["input"]["resize"] == "simple"
    assert info["run"]["epochs_run"] == 2 and info["class_names"] == ["blue", "green", "red"]
    history = json.loads((tmp_path / "model" / "alexnet_history.json").read_text())
    assert len(history["val_loss"]) == 2
    assert not (tmp_path / "model" / "alexnet_backup").exists()
    # The best model is evaluated on test.hdf5, with the report of every evaluation.
    assert "evaluating on the test split" in trained.stdout
    run = info["run"]
    assert run["evaluated_on"] == "test" and run["test_images"] == 6 and 0 <= run["test_accuracy"] <= 1
    assert sum(p["count"] for p in run["most_confused"]) == round((1 - run["test_accuracy"]) * 6)
    for name in ("alexnet_top_losses.png", "alexnet_report.html", "alexnet_confusion.png"):
        assert name in trained.stdout and (tmp_path / "model" / name).stat().st_size > 0
    # The gallery names the test images by their files (6 test images, up to 16 shown).
    with h5py.File(out / "test.hdf5") as db:
        test_files = list(db["paths"].asstr()[:])
    page = (tmp_path / "model" / "alexnet_report.html").read_text()
    assert all(f"<b>{name.split('/')[-1]}</b>" in page for name in test_files) and "<b>row " not in page

    evaluated = run_script("crop_accuracy.py", "--hdf5", out, "--model", model)
    assert evaluated.returncode == 0, evaluated.stderr
    results = json.loads((tmp_path / "model" / "alexnet_crop_accuracy.json").read_text())
    assert results["images"] == 6
    for view in ("single_view", "ten_crop"):
        assert 0 <= results[view]["rank1"] <= 1 and "rank5" not in results[view]
    assert "10-crop minus single view" in evaluated.stdout
    gain, (low, high) = results["rank1_gain"], results["rank1_gain_ci95"]
    assert low <= gain <= high
    assert gain == pytest.approx(results["ten_crop"]["rank1"] - results["single_view"]["rank1"])
    assert gain == pytest.approx((results["fixed_by_ten_crop"] - results["broken_by_ten_crop"]) / 6)
    assert "most_confused" in results["ten_crop"] and len(results["single_view"]["rank1_ci95"]) == 2
    page = (tmp_path / "model" / "alexnet_crop_accuracy_report.html").read_text()
    assert "Single view against 10-crop" in page and "10-crop minus single view" in page
    assert (tmp_path / "model" / "alexnet_crop_accuracy_top_losses.png").exists()

    image = next((dataset / "red").iterdir())
    predicted = run_script("predict.py", "--model", model, "--image", image, "--no-annotate")
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.split("\t")[1] in ("blue", "green", "red")

    resumed = run_script("train_alexnet.py", "--hdf5", out, "--model", model, "--size", 32,
                         "--batch-size", 6, "--resume")
    assert_clean_failure(resumed, 2, "alexnet_backup: no interrupted run to resume")


def interrupted_alexnet(tmp_path, when):
    """Build tiny HDF5 files, start train_alexnet.py (up to 100 epochs) and
    Ctrl-C it as soon as the file `when` exists. Returns (its args, stderr)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT, communicate_or_show_stacks

    dataset = make_colour_dataset(tmp_path / "ds", per_class=8)
    out, model = tmp_path / "hdf5", tmp_path / "alexnet.keras"
    assert run_script("build_hdf5.py", "--dataset", dataset, "--output", out, "--size", 36,
                      "--test-size", 3, "--val-size", 3).returncode == 0
    args = ["--hdf5", out, "--model", model, "--size", 32, "--batch-size", 6, "--fc-units", 64,
            "--patience", 0]
    # PYTHONFAULTHANDLER: for communicate_or_show_stacks.
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "train_alexnet.py"), *map(str, args),
                             "--epochs", "100"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 120
    while not when.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = communicate_or_show_stacks(proc, 60, "train_alexnet.py")
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    return args, stderr


def history_csv_epochs(path):
    with open(path, newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_resume_continues_an_interrupted_run(tmp_path):
    # Ctrl-C once at least one epoch is complete.
    metadata = tmp_path / "alexnet_backup" / "training_metadata.json"
    args, _ = interrupted_alexnet(tmp_path, when=metadata)
    done = json.loads(metadata.read_text())["epoch"]
    assert 1 <= done < 100 and (tmp_path / "alexnet.keras").exists()  # best model so far saved
    assert history_csv_epochs(tmp_path / "alexnet_history.csv") == list(range(done))

    resumed = run_script("train_alexnet.py", *args, "--epochs", done + 2, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {done}" in resumed.stdout
    history = json.loads((tmp_path / "alexnet_history.json").read_text())
    assert len(history["loss"]) == done + 2
    info = json.loads((tmp_path / "alexnet.json").read_text())
    assert info["run"]["resumed_from_epoch"] == done and info["run"]["epochs_run"] == done + 2
    assert not (tmp_path / "alexnet_backup").exists()
    assert history_csv_epochs(tmp_path / "alexnet_history.csv") == list(range(done + 2))


def test_a_run_stopped_before_its_first_epoch_leaves_the_previous_outputs(tmp_path):
    previous = tmp_path / "alexnet_history.csv"
    previous.write_text("epoch,loss\n0,1.0\n")  # an earlier run's history
    # Ctrl-C as soon as the run has recorded its flags, just before training.
    interrupted_alexnet(tmp_path, when=tmp_path / "alexnet_backup" / "arguments.json")
    assert previous.read_text() == "epoch,loss\n0,1.0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alexnet_history.csv", "ds", "hdf5"]
