"""predict.py --csv writes its rows as they come, under <csv>.partial until
the last image is done; a run stopped by SIGTERM or SIGKILL leaves the
partial file, and --resume finishes it into the same file an uninterrupted
run writes (same rows, same order, none twice, a torn last line redone)."""

import contextlib
import csv
import io
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, assert_clean_failure, make_colour_dataset, run_script

from pyimagesearch.inference.csvfile import PredictionCSV, csv_header

CLASSES = ["blue", "green", "red"]
# Enough rows (~100 bytes of stdout each) to fill a pipe's 64 KiB: a child
# whose stdout is not read stops there, so it cannot finish before the test
# interrupts it.
IMAGES_PER_CLASS = 600


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """(folder of generated images, a tiny .keras ConvNet, its ONNX export,
    the CSV of an uninterrupted run of each)."""
    import keras

    import export
    import predict as predict_script
    from pyimagesearch.modelfiles.sidecar import save_model_info

    root = tmp_path_factory.mktemp("resume")
    images = make_colour_dataset(root / "images", per_class=IMAGES_PER_CLASS, size=(12, 12))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(len(CLASSES), activation="softmax")])
    model_path = root / "conv.keras"
    model.save(model_path)
    save_model_info(model_path, CLASSES, {"width": 8, "height": 8, "depth": 3, "flatten": False,
                                          "resize": "simple", "channel_order": "BGR",
                                          "scale": 1 / 255.0, "mean": None})
    assert export.main(["--model", str(model_path), "--format", "onnx"]) in (0, None)
    onnx_path = root / "conv.onnx"
    reference = {}
    for path in (model_path, onnx_path):
        # Uninterrupted runs, in this process: TensorFlow is imported already.
        out = root / f"reference_{path.suffix[1:]}.csv"
        with contextlib.redirect_stdout(io.StringIO()):
            assert predict_script.main(["--model", str(path), "--image", str(images), "--csv", str(out),
                                        "--no-annotate", "--batch-size", "16"]) in (0, None)
        reference[path.suffix] = out.read_bytes()
    return images, model_path, onnx_path, reference


def predict(model, images, csv_path, *extra):
    return run_script("predict.py", "--model", model, "--image", images, "--csv", csv_path,
                      "--no-annotate", "--batch-size", "16", *extra)


def start_predict(model, images, csv_path, *extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, str(ROOT / "predict.py"), "--model", str(model), "--image",
                             str(images), "--csv", str(csv_path), "--no-annotate", "--batch-size", "16",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)


def wait_for_rows(partial, rows, proc, timeout=120):
    """Wait until `partial` holds at least `rows` complete lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if partial.exists() and partial.read_bytes().count(b"\n") > rows:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"{partial} did not reach {rows} rows")


def interrupted_run(model, images, folder, stop):
    """Start predict.py on `images` with --csv folder/predictions.csv, call
    `stop(proc)` once 200 rows are in the partial file; return (the CSV path,
    the partial path, its exit code, stdout and stderr)."""
    target = folder / "predictions.csv"
    partial = folder / "predictions.csv.partial"
    proc = start_predict(model, images, target)
    wait_for_rows(partial, 200, proc)
    stop(proc)
    stdout, stderr = proc.communicate(timeout=60)
    return target, partial, proc.returncode, stdout, stderr


def data_lines(content):
    return content.decode().splitlines(keepends=True)[1:]


def test_sigterm_leaves_the_partial_csv_and_resume_finishes_it(tmp_path, workspace, capsys):
    images, model_path, onnx_path, reference = workspace
    target, partial, code, stdout, stderr = interrupted_run(
        model_path, images, tmp_path, lambda proc: proc.send_signal(signal.SIGTERM))
    assert code == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    assert not target.exists()
    kept = partial.read_bytes()
    expected = reference[".keras"]
    assert kept.endswith(b"\n") and expected.startswith(kept)  # whole rows, the first ones in order
    # Every image printed is in the partial file (its row is flushed first).
    printed = [line.split("\t")[0] for line in stdout.splitlines()]
    assert printed == [row.split(",")[0] for row in data_lines(kept)][:len(printed)]
    done = len(data_lines(kept))
    assert 200 <= done < 3 * IMAGES_PER_CLASS

    # Another model's partial file is refused in one line, and left as it was.
    result = predict(onnx_path, images, target, "--resume")
    assert_clean_failure(result, 2, "predictions.csv.partial", "another model", "conv.keras")
    assert partial.read_bytes() == kept

    # Resumed in this process (TensorFlow is imported already): the run the user reruns.
    import predict as predict_script

    assert predict_script.main(["--model", str(model_path), "--image", str(images), "--csv", str(target),
                                "--no-annotate", "--batch-size", "16", "--resume"]) in (0, None)
    resumed = capsys.readouterr()
    assert target.read_bytes() == expected
    assert not partial.exists() and not (tmp_path / "predictions.csv.partial.json").exists()
    # Only the remaining images were classified and printed, each once.
    assert [line.split("\t")[0] for line in resumed.out.splitlines()] == \
        [row.split(",")[0] for row in data_lines(expected)[done:]]
    assert f"classified {3 * IMAGES_PER_CLASS - done} of {3 * IMAGES_PER_CLASS} images" in resumed.err


def test_sigkill_and_a_torn_last_line_are_resumed_on_onnx(tmp_path, workspace):
    images, _, onnx_path, reference = workspace
    target, partial, code, _, _ = interrupted_run(onnx_path, images, tmp_path, lambda proc: proc.kill())
    assert code == -signal.SIGKILL
    expected = reference[".onnx"]
    kept = partial.read_bytes()
    assert expected.startswith(kept) and not target.exists()
    # A kill in the middle of a write (or a power cut) leaves half a line: cut the last one.
    torn = kept[:kept.rstrip(b"\n").rfind(b"\n") + 1] + kept.splitlines(keepends=True)[-1][:20]
    partial.write_bytes(torn)
    result = predict(onnx_path, images, target, "--resume")
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == expected
    redone = len(data_lines(kept)) - 1  # the torn row's image is classified again
    assert result.stdout.splitlines()[0].split("\t")[0] == data_lines(expected)[redone].split(",")[0]

    # --resume on the finished CSV: nothing left to do, the file unchanged.
    result = predict(onnx_path, images, target, "--resume")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and target.read_bytes() == expected
    # Other columns (--top-k 2) are refused in one line.
    result = predict(onnx_path, images, target, "--resume", "--top-k", "2")
    assert_clean_failure(result, 2, "predictions.csv", "--top-k")
    assert target.read_bytes() == expected


def rows_for(paths, label="blue"):
    return [[p, label, "0.5000"] for p in paths]


def test_resume_of_a_final_csv_with_new_images_keeps_the_order_of_one_run(tmp_path):
    paths = [str(tmp_path / f"{name}.png") for name in "abcde"]
    target = tmp_path / "out.csv"
    model = tmp_path / "model.keras"
    model.write_bytes(b"weights")
    with PredictionCSV(target, paths[1:4:2], CLASSES, 1, model) as out:  # b, d
        for row in rows_for(out.remaining):
            out.write(row)
    with PredictionCSV(target, paths, CLASSES, 1, model, resume=True) as out:
        assert out.remaining == [paths[0], paths[2], paths[4]]
        for row in rows_for(out.remaining, "red"):
            out.write(row)
    with open(target, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == csv_header(1)
    assert [r[0] for r in rows[1:]] == paths
    assert [r[1] for r in rows[1:]] == ["red", "blue", "red", "blue", "red"]


def test_resume_refuses_rows_another_model_wrote(tmp_path):
    from pyimagesearch.utils.errors import UserError

    paths = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    target = tmp_path / "out.csv"
    model = tmp_path / "model.keras"
    model.write_bytes(b"weights")
    with open(target, "w", newline="") as f:
        csv.writer(f).writerows([csv_header(1), [paths[0], "cat", "0.9000"]])
    with pytest.raises(UserError, match=r"out.csv: line 2 is not a prediction of this model"), \
            PredictionCSV(target, paths, CLASSES, 1, model, resume=True):
        pass
    assert not (tmp_path / "out.csv.partial").exists()
    # A retrained model at the same path does not continue the old one's partial file.
    with pytest.raises(KeyboardInterrupt), PredictionCSV(tmp_path / "p.csv", paths, CLASSES, 1, model) as out:
        out.write(rows_for(paths[:1])[0])
        raise KeyboardInterrupt
    model.write_bytes(b"retrained")
    with pytest.raises(UserError, match="written by another model"), \
            PredictionCSV(tmp_path / "p.csv", paths, CLASSES, 1, model, resume=True):
        pass


def test_resume_needs_csv():
    result = run_script("predict.py", "--image", "images", "--resume")
    assert_clean_failure(result, 2, "--resume", "--csv")
