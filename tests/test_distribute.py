"""--distribute: MirroredStrategy over 2 logical CPU devices, and two
MultiWorkerMirroredStrategy workers on loopback ports, as a user runs them."""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ROOT, assert_clean_failure, make_colour_dataset, run_script

OUTPUTS = ("{}.keras", "{}.json", "{}_labels.json", "{}_plot.png", "{}_history.csv", "{}_history.json")


def test_mirrored_uses_two_replicas_and_trains_like_one_device(tmp_path):
    dataset = make_colour_dataset(tmp_path / "d", per_class=60, size=(8, 8))
    common = ["--dataset", dataset, "--size", 8, "--epochs", 10, "--lr", 0.1, "--patience", 0]
    # The same global batch of 8: 4 per replica on 2 replicas, or 8 on one device.
    # Both at once, to halve the wait (each is mostly one busy thread).
    with ThreadPoolExecutor(2) as pool:
        single = pool.submit(run_script, "train_simple_nn.py", *common, "--batch-size", 8,
                             "--distribute", "none", "--model", tmp_path / "one" / "nn.keras")
        mirrored = pool.submit(run_script, "train_simple_nn.py", *common, "--batch-size", 4,
                               "--distribute", "mirrored", "--cpu-devices", 2,
                               "--model", tmp_path / "two" / "nn.keras")
        single, mirrored = single.result(), mirrored.result()
    assert single.returncode == 0, single.stderr
    assert mirrored.returncode == 0, mirrored.stderr
    assert "MirroredStrategy: 2 replica(s); batch size 4 per replica, global batch 8" in mirrored.stdout

    runs = {}
    for name in ("one", "two"):
        out = tmp_path / name
        for pattern in OUTPUTS + ("{}_confusion.png",):
            assert (out / pattern.format("nn")).stat().st_size > 0, (name, pattern)
        runs[name] = json.loads((out / "nn.json").read_text())["run"]
        runs[name]["loss"] = json.loads((out / "nn_history.json").read_text())["loss"]
    assert runs["two"]["distribution"] == {
        "strategy": "MirroredStrategy", "replicas": 2, "workers": 1, "chief": True,
        "batch_size_per_replica": 4, "global_batch_size": 8, "lr_scale": 1}
    assert runs["one"]["distribution"]["replicas"] == 1
    # Not bit-identical (Keras draws one batch before training under a strategy,
    # which moves the shuffle on by one epoch), but the same convergence.
    for run in runs.values():
        assert run["epochs_run"] == 10 and run["test_accuracy"] >= 0.9
        assert run["loss"][-1] < 0.3 * run["loss"][0]
    assert abs(runs["two"]["loss"][-1] - runs["one"]["loss"][-1]) < 0.15


def free_ports(count):
    """Ports the kernel says are free on 127.0.0.1 (all held until all are chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def kill_all(procs):
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_disjoint_shares(seen, epochs, used, train_rows):
    """Each epoch, the two workers together read `used` of the `train_rows`
    (the training part's rows), each once, each worker its own half (the
    shuffled order leaves out its last partial global batch)."""
    assert sorted(seen) == list(range(1, epochs + 1))
    for shares in seen.values():
        assert [len(rows) for rows in shares] == [used // 2] * 2
        rows = shares[0] + shares[1]
        assert len(set(rows)) == len(rows) == used and set(rows) <= set(train_rows)


def run_two_workers(tmp_path, argv_for):
    """Run the script and flags `argv_for(index)` as worker 0 (the chief) and
    worker 1 of a MultiWorkerMirroredStrategy cluster on loopback ports; each
    worker is told its own --model folder, to show the other writes nothing
    to it. Returns both workers' output, once both ended with code 0."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    procs, logs = [], [tmp_path / f"worker{index}.log" for index in range(2)]
    with contextlib.ExitStack() as files:
        for index in range(2):
            scratch = tmp_path / f"tmp{index}"
            scratch.mkdir()
            env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2",
                       TMPDIR=str(scratch),
                       TF_CONFIG=json.dumps({"cluster": cluster,
                                             "task": {"type": "worker", "index": index}}))
            script, *args = argv_for(index)
            log = files.enter_context(open(logs[index], "w"))
            procs.append(subprocess.Popen(
                [sys.executable, str(ROOT / script), *args, "--distribute", "multiworker"],
                stdout=log, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT))
        # A hung collective must fail the test, not CI: kill both workers.
        files.callback(kill_all, procs)
        deadline = time.monotonic() + 240
        for proc in procs:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
    output = [log.read_text() for log in logs]
    for index, proc in enumerate(procs):
        assert proc.returncode == 0, output[index][-3000:]
        assert "Traceback" not in output[index]
    return output


def read_rows(output, name):
    """{epoch: rows read by both workers} from their row logs of file `name`."""
    pattern = re.compile(rf"\[INFO\] worker (\d) of 2, epoch (\d+): read (\d+) rows of {re.escape(name)} "
                         r"\(each once\): (.*)")
    seen = {}
    for index, text in enumerate(output):
        for worker, epoch, count, ranges in pattern.findall(text):
            assert int(worker) == index
            rows = [r for part in ranges.split(", ") for r in
                    range(int(part.split("-")[0]), int(part.split("-")[1]) + 1)]
            assert len(rows) == int(count)
            seen.setdefault(int(epoch), []).append(rows)
    return seen


def test_two_workers_share_the_hdf5_rows_and_only_the_chief_writes(tmp_path):
    dataset = make_colour_dataset(tmp_path / "ds", per_class=10, size=(20, 20))
    hdf5 = tmp_path / "hdf5"
    built = run_script("build_hdf5.py", "--dataset", dataset, "--output", hdf5, "--size", 16,
                       "--test-size", 3, "--val-size", 6)
    assert built.returncode == 0, built.stderr
    train_rows = 30 - 3 - 6
    epochs, per_replica = 3, 2
    used = train_rows // per_replica // 2 * 2 * per_replica  # whole batches, equal shares: 20 of 21

    output = run_two_workers(tmp_path, lambda index: [
        "train_alexnet.py", "--hdf5", str(hdf5), "--model", str(tmp_path / f"out{index}" / "alexnet.keras"),
        "--size", "16", "--epochs", str(epochs), "--batch-size", str(per_replica), "--fc-units", "32",
        "--patience", "0", "--workers", "1"])

    chief = tmp_path / "out0"
    # The chief also evaluates the best model on the held-out file: its reports.
    evaluation = ("{}_confusion.png", "{}_top_losses.png", "{}_report.html")
    assert sorted(p.name for p in chief.iterdir()) == sorted(p.format("alexnet") for p in OUTPUTS + evaluation)
    assert not (tmp_path / "out1").exists()  # the other worker wrote nothing there
    assert list((tmp_path / "tmp1").iterdir()) == []  # and deleted its temporary folder
    info = json.loads((chief / "alexnet.json").read_text())
    assert info["run"]["distribution"] == {
        "strategy": "KerasMultiWorkerStrategy", "replicas": 2, "workers": 2, "chief": True,
        "batch_size_per_replica": 2, "global_batch_size": 4, "lr_scale": 1}
    assert info["run"]["epochs_run"] == epochs and info["run"]["train_images"] == used
    assert len(json.loads((chief / "alexnet_history.json").read_text())["loss"]) == epochs
    import keras
    model = keras.models.load_model(chief / "alexnet.keras", safe_mode=True)
    assert model.output_shape == (None, 3)

    assert_disjoint_shares(read_rows(output, "train.hdf5"), epochs, used, range(train_rows))
    assert f"{train_rows - used} training images left out" in output[0]


def test_two_workers_stream_a_folder_from_the_chiefs_cache(tmp_path):
    dataset = make_colour_dataset(tmp_path / "ds", per_class=10, size=(12, 12))
    cache = tmp_path / "cache"
    epochs, per_replica = 2, 2
    train_rows = 30 - 8 - 3  # --test-size 0.25 of 30, then --val-size 0.1 of the rest
    used = train_rows // (2 * per_replica) * 2 * per_replica
    output = run_two_workers(tmp_path, lambda index: [
        "train_simple_nn.py", "--dataset", str(dataset), "--size", "8", "--data", "stream",
        "--cache-dir", str(cache), "--model", str(tmp_path / f"out{index}" / "nn.keras"),
        "--epochs", str(epochs), "--batch-size", str(per_replica), "--patience", "0"])
    # Only the chief decodes the folder; the other worker waits for its cache.
    assert "image cache: building" in output[0] and "image cache: building" not in output[1]
    assert "waiting for the chief worker to build" in output[1]
    [name] = [p.name for p in cache.iterdir()]
    from pyimagesearch.datasets import list_images
    from pyimagesearch.training.sources import Storage, load_split

    paths, labels = list_images(dataset, seed=42)
    split = load_split(str(dataset), paths, labels, 8, 8, storage=Storage("stream", str(cache)))
    assert len(split.train) == train_rows
    assert_disjoint_shares(read_rows(output, name), epochs, used, split.train.rows.tolist())
    run = json.loads((tmp_path / "out0" / "nn.json").read_text())["run"]
    assert run["data"]["mode"] == "stream" and run["train_images"] == used


@pytest.mark.parametrize("tf_config, fragment", [
    (None, "needs the TF_CONFIG environment variable"),
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}',
     "is not one of the cluster's worker[0..0]"),
])
def test_multiworker_without_a_usable_tf_config_is_one_line(tmp_path, tf_config, fragment):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    if tf_config is not None:
        env["TF_CONFIG"] = tf_config
    # Checked before the dataset is even read.
    result = subprocess.run(
        [sys.executable, str(ROOT / "train_simple_nn.py"), "--dataset", str(tmp_path / "missing"),
         "--model", str(tmp_path / "nn.keras"), "--distribute", "multiworker"],
        check=False, capture_output=True, text=True, timeout=120, cwd=ROOT,
        env=dict(env, PYTHONPATH=str(ROOT)))
    assert_clean_failure(result, 2, fragment)
