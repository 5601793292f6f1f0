"""Ctrl-C or `kill` during build_hdf5.py: exit code 130, no traceback, and
nothing half-written: no outputs appear where there were none, a previous
complete build stays byte for byte, and no staging folder is left."""

import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from conftest import ROOT, make_colour_dataset, run_script


def slow_dataset(root, per_class=1000):
    """Many hard links to one large noise JPEG per class: cheap to create,
    seconds to decode, so a signal lands while the build is running."""
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        source = root / name / "source.jpg"
        cv2.imwrite(str(source), rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
        for i in range(per_class):
            os.link(source, root / name / f"{i:04d}.jpg")
    return root


def interrupt_build(dataset, out, sig, *extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen([sys.executable, str(ROOT / "build_hdf5.py"), "--dataset", str(dataset),
                             "--output", str(out), "--size", "128", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            # The staging file exists once decoding has started.
            if any(out.glob(".build-tmp-*/all.hdf5")):
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"the build never started decoding: {proc.communicate()}")
        assert proc.poll() is None, "the build ended before the signal; make the dataset bigger"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_build_leaves_nothing_half_written(sig, tmp_path):
    dataset = slow_dataset(tmp_path / "big")

    fresh = tmp_path / "fresh"
    code, stderr = interrupt_build(dataset, fresh, sig)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert list(fresh.iterdir()) == []  # no outputs, no staging folder, no temporary file

    previous = tmp_path / "previous"
    small = make_colour_dataset(tmp_path / "small", per_class=6, size=(16, 16))
    built = run_script("build_hdf5.py", "--dataset", small, "--output", previous, "--size", 16,
                       "--test-size", 3, "--val-size", 3)
    assert built.returncode == 0, built.stderr
    before = {p.name: p.read_bytes() for p in previous.iterdir()}
    code, stderr = interrupt_build(dataset, previous, sig, "--force")
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert {p.name: p.read_bytes() for p in previous.iterdir()} == before
