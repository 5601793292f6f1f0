"""Ctrl-C or `kill` during build_hdf5.py: exit code 130, no traceback, and
nothing half-written: no outputs appear where there were none, a previous
complete build stays byte for byte, and no staging folder is left."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, communicate_or_show_stacks, make_colour_dataset, run_script, slow_dataset


def interrupt_build(dataset, out, sig, *extra):
    # PYTHONFAULTHANDLER: for communicate_or_show_stacks.
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", PYTHONFAULTHANDLER="1")
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
        _, stderr = communicate_or_show_stacks(proc, 60, "build_hdf5.py")
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


def test_a_signal_during_decoding_stops_it_between_images(tmp_path):
    from pyimagesearch.io.hdf5build import decode_all
    from pyimagesearch.utils.deferredinterrupts import deferred_interrupts

    dataset = make_colour_dataset(tmp_path / "d", per_class=4, size=(16, 16))
    paths = [str(p) for p in sorted(dataset.glob("*/*.png"))]
    before = signal.getsignal(signal.SIGTERM)
    with deferred_interrupts() as interrupts:
        os.kill(os.getpid(), signal.SIGTERM)  # only recorded: this process goes on
        time.sleep(0.05)
        with pytest.raises(KeyboardInterrupt):
            decode_all(str(tmp_path / "all.hdf5"), paths, (16, 16), interrupts=interrupts)
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_signal_stays_ignored(tmp_path):
    from pyimagesearch.utils.deferredinterrupts import deferred_interrupts

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with deferred_interrupts() as interrupts:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            interrupts.check()  # nothing was recorded
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_staging_folder_left_by_a_killed_build_is_removed(tmp_path):
    out = tmp_path / "hdf5"
    leftover = out / ".build-tmp-999999999"
    leftover.mkdir(parents=True)
    (leftover / "all.hdf5").write_bytes(b"cut off")
    small = make_colour_dataset(tmp_path / "small", per_class=6, size=(16, 16))
    built = run_script("build_hdf5.py", "--dataset", small, "--output", out, "--size", 16,
                       "--test-size", 3, "--val-size", 3)
    assert built.returncode == 0, built.stderr
    assert f"removing {leftover}, left by a build that was killed" in built.stdout
    assert sorted(p.name for p in out.iterdir()) == ["mean.json", "summary.json", "test.hdf5",
                                                     "train.hdf5", "val.hdf5"]
