"""Shared test helpers: tiny generated datasets and a way to run the scripts."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Colours in BGR order; each class is a noisy image dominated by one colour,
# with a random rectangle, so a few epochs of training separate them.
CLASS_COLOURS = {"blue": (200, 40, 40), "green": (40, 200, 40), "red": (40, 40, 200)}


def pytest_configure(config):
    # Keras' own weight saving (BackupAndRestore, model.save) hands TensorFlow
    # variables to np.array, which NumPy 2 warns about hundreds of times per
    # run; nothing in this project to fix, and it hides our own warnings.
    config.addinivalue_line(
        "filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def make_image(colour, size=(40, 48), rng=None):
    rng = rng or np.random.default_rng(0)
    h, w = size
    image = np.clip(np.array(colour, dtype=np.int16) + rng.integers(-30, 31, (h, w, 3)), 0, 255)
    image = image.astype(np.uint8)
    x0, y0 = rng.integers(0, w // 2), rng.integers(0, h // 2)
    cv2.rectangle(image, (int(x0), int(y0)), (int(x0) + w // 3, int(y0) + h // 3),
                  tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    return image


def make_colour_dataset(root, per_class=12, size=(40, 48), ext=".png", seed=0, classes=None):
    """Write <root>/<class>/<class>_<i><ext> images; return the root."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for name in classes or CLASS_COLOURS:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(str(root / name / f"{name}_{i:03d}{ext}"),
                        make_image(CLASS_COLOURS[name], size, rng))
    return root


def slow_dataset(root, per_class=1000):
    """Many hard links to one large noise JPEG per class: cheap to create,
    seconds to decode, so a signal lands while a build (build_hdf5.py, the
    image cache) is running."""
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        source = root / name / "source.jpg"
        cv2.imwrite(str(source), rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
        for i in range(per_class):
            os.link(source, root / name / f"{i:04d}.jpg")
    return root


def read_colour_dataset(root, per_class=4, size=(8, 8)):
    """make_colour_dataset, then every image decoded again: (uint8 images,
    integer labels in sorted class order), for in-process model.fit calls."""
    paths = sorted(make_colour_dataset(root, per_class=per_class, size=size).glob("*/*.png"))
    classes = sorted({p.parent.name for p in paths})
    return (np.stack([cv2.imread(str(p)) for p in paths]),
            np.array([classes.index(p.parent.name) for p in paths]))


@pytest.fixture
def colour_dataset(tmp_path):
    return make_colour_dataset(tmp_path / "dataset")


def run_script(script, *args, timeout=300, cwd=None):
    """Run one of the repository's scripts as a user would; return the
    CompletedProcess (text mode, stdout and stderr captured)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], check=False,
                          capture_output=True,
                          text=True, timeout=timeout, cwd=cwd or ROOT, env=env)


@pytest.fixture(scope="session", autouse=True)
def scripts_receive_sigint():
    """Tests Ctrl-C the scripts they start. A shell's background job (`make
    test &`, nohup) starts with SIGINT ignored, children inherit that, and
    Python then never raises KeyboardInterrupt; a Python-level handler is
    reset to the default in each child instead."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def communicate_or_show_stacks(proc, timeout, what):
    """proc.communicate(timeout=...) -> (stdout, stderr). If the process hangs,
    fail with the stack of each of its threads: start it with
    PYTHONFAULTHANDLER=1 in its environment, and SIGABRT makes it print them."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        stderr = proc.communicate(timeout=60)[1]
        pytest.fail(f"{what} still running {timeout} s after the signal; its stacks:\n{stderr[-6000:]}")


def assert_clean_failure(result, code, *fragments):
    """A user mistake: the expected exit code, no traceback, and an error line
    that names what is wrong."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in error_lines[0], error_lines[0]


needs_shared = pytest.mark.skipif(not (SHARED_DATA / "animals").is_dir(),
                                  reason="../shared/data is not available")
